"""Generate the model-zoo tables from the registry (run by the docs build).

Every name in :func:`gluonpose.model_zoo.get_model_list` gets a row: its
input size, parameter count and GFLOPs (computed here from the symbol graph
by :func:`gluonpose.utils.model_summary.model_summary`, never typed in),
whether the model store knows published weights for it, and the COCO AP
GluonCV publishes for those weights (``gluonpose/model_zoo/published_ap.json``,
with protocol and source). Published weights for models gluonpose does not
register yet are listed in a second table.

Usage::

    python docs/gen_model_zoo.py            # print the reStructuredText
    python docs/gen_model_zoo.py -o FILE    # write it (atomically)

The documentation build calls :func:`model_zoo_rst` through the
``gluonpose-model-zoo`` directive (``docs/_ext/gluonpose_sphinx.py``), so no
generated file lands in the source tree.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: Input size a family is evaluated at when no published row names another one.
DEFAULT_SIZES = (("alpha_pose_", (320, 256)), ("simple_pose_", (256, 192)),
                 ("mobile_pose_", (256, 192)))
CLASSIFIER_SIZE = (224, 224)


def published_table():
    """The parsed ``published_ap.json`` (``protocols``, ``sources``, ``models``)."""
    import gluonpose.model_zoo
    path = os.path.join(os.path.dirname(gluonpose.model_zoo.__file__), "published_ap.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def default_size(name):
    """``(H, W)`` a registered model is summarised at."""
    for prefix, size in DEFAULT_SIZES:
        if name.startswith(prefix):
            return size
    return CLASSIFIER_SIZE


def natural_key(name):
    """Sort key that puts ``resnet18`` before ``resnet101``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def is_pose_model(name):
    """Pose networks (heatmap output) as opposed to ImageNet backbones."""
    return any(name.startswith(prefix) for prefix, _ in DEFAULT_SIZES)


def zoo_rows():
    """One dict per (registered model, input size).

    Returns
    -------
    rows : list of dict
        ``model, size, params, gflops, hrnet_gflops, hashtag, store_hashtag,
        published`` (the matching ``published_ap.json`` entry or ``None``).
    unregistered : list of dict
        Published entries whose model is not registered.
    """
    from gluonpose.model_zoo import get_model, get_model_list
    from gluonpose.model_zoo.model_store import pretrained_model_list, short_hash
    from gluonpose.utils.model_summary import model_summary

    table = published_table()
    names = sorted(get_model_list(), key=natural_key)
    store = set(pretrained_model_list())
    rows = []
    for name in names:
        pub = [m for m in table["models"] if m["model"] == name]
        sizes = [default_size(name)]
        sizes += [tuple(m["input_size"]) for m in pub if tuple(m["input_size"]) not in sizes]
        net = get_model(name)
        for size in sizes:
            summary = model_summary(net, size)
            match = next((m for m in pub if tuple(m["input_size"]) == size), None)
            rows.append({
                "model": name,
                "size": size,
                "pose": is_pose_model(name),
                "params": summary.params,
                "gflops": summary.gflops,
                "hrnet_gflops": summary.hrnet_gflops,
                "store_hashtag": short_hash(name) if name in store else None,
                "published": match,
            })
    unregistered = [m for m in table["models"] if m["model"] not in names]
    return rows, unregistered


def _ap(values):
    return "/".join("%.1f" % v for v in values)


def _list_table(header, body, widths):
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: %s" % " ".join(map(str, widths)),
             ""]
    for row in [header] + body:
        lines.append("   * - %s" % row[0])
        lines.extend("     - %s" % cell for cell in row[1:])
    return lines


def model_zoo_rst():
    """The generated part of the model-zoo page, as reStructuredText."""
    table = published_table()
    rows, unregistered = zoo_rows()
    source_keys = list(table["sources"])
    out = []

    pose = [r for r in rows if r["pose"]]
    body = []
    for r in pose:
        pub = r["published"]
        weights = ("``%s``" % pub["hashtag"]) if pub else (
            "``%s``" % r["store_hashtag"] if r["store_hashtag"] and r["size"] == default_size(
                r["model"]) else "--")
        body.append([
            "``%s``" % r["model"], "%dx%d" % r["size"], "%.1f" % (r["params"] / 1e6),
            "%.2f" % r["gflops"], "%.2f" % r["hrnet_gflops"], weights,
            _ap(pub["ap"]) if pub else "--", _ap(pub["ap_flip"]) if pub else "--",
            "[%d]_" % (source_keys.index(pub["source"]) + 1) if pub else "--",
        ])
    out += _list_table(["model", "input (HxW)", "params (M)", "GFLOPs", "GFLOPs (HRNet count)",
                        "weights", "COCO AP / AP50 / AP75", "... with flip test", "source"],
                       body, [24, 9, 8, 8, 9, 9, 13, 13, 6])
    out.append("")

    out += ["ImageNet backbones (the trunks of the pose networks; ``pretrained_base=True`` "
            "loads them):", ""]
    body = []
    for r in rows:
        if r["pose"]:
            continue
        body.append(["``%s``" % r["model"], "%dx%d" % r["size"], "%.1f" % (r["params"] / 1e6),
                     "%.2f" % r["gflops"],
                     "``%s``" % r["store_hashtag"] if r["store_hashtag"] else "not published"])
    out += _list_table(["model", "input (HxW)", "params (M)", "GFLOPs", "weights"], body,
                       [30, 12, 12, 12, 16])
    out.append("")

    if unregistered:
        out += ["Weights GluonCV publishes for models gluonpose does not build yet (listed so "
                "the numbers can be compared once they are added):", ""]
        body = [["``%s``" % m["model"], "%dx%d" % tuple(m["input_size"]),
                 "``%s``" % m["hashtag"], _ap(m["ap"]), _ap(m["ap_flip"]),
                 "[%d]_" % (source_keys.index(m["source"]) + 1)] for m in unregistered]
        out += _list_table(["model", "input (HxW)", "weights", "COCO AP / AP50 / AP75",
                            "... with flip test", "source"], body, [30, 10, 10, 16, 16, 6])
        out.append("")
        notes = [m for m in unregistered + [r["published"] for r in pose if r["published"]]
                 if m.get("note")]
        for m in notes:
            out += ["``%s`` (``%s``): %s." % (m["model"], m["hashtag"], m["note"]), ""]

    out += ["**Protocol of every published AP above.** %s" % next(iter(
        table["protocols"].values())), ""]
    for i, key in enumerate(source_keys, 1):
        out += [".. [%d] %s" % (i, table["sources"][key]), ""]
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", help="write the reStructuredText here")
    args = parser.parse_args(argv)
    text = model_zoo_rst()
    if args.output:
        from gluonpose.utils.atomic import write_text
        write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
