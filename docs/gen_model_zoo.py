"""Generate the model-zoo tables from the registry and the model specs (run by the docs build).

Every name in :func:`gluonpose.model_zoo.get_model_list` gets a row. Pose
models are read through their spec (:func:`gluonpose.model_zoo.get_model_spec`),
never through their names: the rows are grouped by ``spec.family`` into one
table per family, each model is summarised at ``spec.input_size`` (plus any
other input size GluonCV publishes weights for), and the family's
normalisation, output stride, size multiple, keypoint schema and supervised
outputs (for bottom-up families also the output-map channels and the test
scales) are stated above its table -- or given a column when they differ
between the family's models. Parameter counts and GFLOPs are computed here
from the symbol graph by :func:`gluonpose.utils.model_summary.model_summary`,
never typed in; the weights column says whether the model store knows
published weights, and the COCO AP is the one GluonCV publishes for those
weights (``gluonpose/model_zoo/published_ap.json``, with protocol and
source). Registered models without a spec (the ImageNet backbones) get a
table of their own at 224x224; published weights for models gluonpose does
not register are listed last.

Usage::

    python docs/gen_model_zoo.py            # print the reStructuredText
    python docs/gen_model_zoo.py -o FILE    # write it (atomically)

The documentation build calls :func:`model_zoo_rst` through the
``gluonpose-model-zoo`` directive (``docs/_ext/model_zoo_directive.py``), so no
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

#: Input size the ImageNet backbones (models without a spec) are summarised at.
CLASSIFIER_SIZE = (224, 224)

#: Heading and one-line description of the families the page knows by name; a
#: family missing here still gets its table, under its spec's family name.
FAMILIES = (
    ("simple_pose", "Simple Baselines (SimplePose)",
     "ResNet trunk and three stride-2 transposed convolutions (Xiao et al., ECCV 2018); "
     "GluonCV's ``simple_pose_*``."),
    ("mobile_pose", "MobilePose",
     "GluonCV's light network: a MobileNet (v1, v2, v3) or ResNet trunk, a 1x1 convolution "
     "and three pixel-shuffle (DUC) up-sampling blocks."),
    ("fast_pose", "FastPose (AlphaPose)",
     "AlphaPose's network: a stride-32 trunk, a pixel shuffle and two DUC blocks. "
     "``alpha_pose_resnet101_v1b_coco`` is GluonCV's, ``alpha_pose_resnet50_v1b_coco`` "
     "AlphaPose's FastPose on SE-ResNet-50; the ``alpha_pose_mobilenetv3_*`` models are "
     "gluonpose's light FastPose for CPUs (MobileNetV3 trunk, DUC widths re-sized to it; "
     "no published weights)."),
    ("hourglass", "Stacked hourglass",
     "Newell, Yang and Deng (ECCV 2016): a 7x7 stem with pre-activation residual units, then "
     "*n* hourglass modules (four 2x max-pool down-samplings, nearest up-sampling, a residual "
     "unit per skip), each with its own 1x1 prediction head whose maps and features are fed "
     "back into the next stack through 1x1 merge convolutions. Every stack is supervised; the "
     "last is decoded; the flip test merges without the one-pixel shift, as the reference "
     "does. No published weights."),
    ("cpn", "Cascaded Pyramid Network (CPN)",
     "Chen et al. (CVPR 2018) on this project's ResNet v1b trunks: GlobalNet (a feature "
     "pyramid over C2..C5 with a heatmap head per level, supervised with Gaussians of "
     "sigma 2.6, 2.0, 1.7 and 1.4 from the coarsest level down) and RefineNet (bottleneck "
     "stacks per level, up-sampled, concatenated), trained with online hard keypoint mining "
     "(the 8 worst of 17 joints per sample). The RefineNet output is decoded. No published "
     "weights. The parameter count agrees with the HRNet paper's CPN-R50; its GFLOPs "
     "exceed that paper's figure by 8 % even in the HRNet count, a difference the "
     "references do not explain."),
    ("openpose", "OpenPose (part affinity fields)",
     "Bottom-up multi-person networks: every stage predicts part confidence maps (18 parts + "
     "background) and part affinity fields (19 limbs x (x, y)) for the whole image, every "
     "stage is supervised and the last is decoded. ``openpose_vgg19_coco`` is the CMU network "
     "(Cao et al., CVPR 2017: VGG-19 front, six two-branch stages); "
     "``openpose_mobilenet_light_coco`` follows Lightweight OpenPose (Osokin 2018: dilated "
     "MobileNet v1 trunk, CPM block, one refinement stage of residual 1x1 / 3x3 blocks). "
     "Targets and grouping come from the PAF codec "
     "(:class:`~gluonpose.codecs.paf.PAFCodec`); the training engine trains them, and "
     "``gluonpose eval``, ``gluonpose predict`` and the Predictor run them on whole images "
     "without boxes (:mod:`gluonpose.inference.bottom_up`: test scales, flip, grouping); "
     "the exporter does not run bottom-up models yet. No published weights."),
    ("associative_embedding", "Associative Embedding (stacked hourglass with tags)",
     "Newell, Huang and Deng (NIPS 2017): a bottom-up multi-person network whose every stack "
     "predicts a detection heatmap and a tag (embedding) map per joint; joints whose tags "
     "are close are grouped into one person. The hourglasses are built of plain 3x3 "
     "convolutions widening by ``increase`` channels per level, as in the authors' code. "
     "Every stack is supervised (detection L2 + tag pull/push) and the last is decoded. "
     "``ae_hourglass_4stack_coco`` is the reference (4 stacks, 256 features, no batch "
     "norm, 512x512); it emits exactly 17 detection + 17 tag channels per stack where the "
     "reference emits 68, 34 of them unused. ``ae_hourglass_2stack_light_coco`` is "
     "gluonpose's CPU-sized variant (2 stacks, 128 features, ``increase`` 32, batch "
     "norm). No published weights."),
)

#: Structure figures the references publish, set beside this page's counts:
#: (model, input size (H, W), published params (M), published GFLOPs, how the
#: reference counts, source).
REFERENCE_STRUCTURE = (
    ("hourglass_8stack_mpii", (256, 256), 25.59, 28.0,
     "multiply-adds of the convolutions, 1e9",
     "the PyTorch 8-stack hourglass (bearpaw/pytorch-pose layout) as listed in the "
     "yuanyuanli85/Fast_Human_Pose_Estimation_Pytorch README"),
    ("cpn_resnet50_v1b", (256, 192), 27.0, 6.20,
     "the HRNet paper's count (compare the HRNet-count column)",
     "Sun et al., HRNet (CVPR 2019), Table 1, CPN ResNet-50 256x192"),
    ("openpose_vgg19_coco", (368, 368), 52.3, None,
     "parameters of the released model's layer table (no GFLOPs published)",
     "CMU's COCO model (Cao et al., CVPR 2017), pose_deploy.prototxt"),
    ("openpose_mobilenet_light_coco", (368, 368), 4.1, 9.0,
     "as the paper rounds them",
     "Osokin, Lightweight OpenPose (arXiv 1811.12004), one refinement stage at 368x368"),
)

#: Normalisations with a name (mean, std on RGB in [0, 1]).
NORMALISATIONS = (
    ("ImageNet mean and std", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ("AlphaPose's mean (0.406, 0.457, 0.480) and std 1", (0.406, 0.457, 0.480),
     (1.0, 1.0, 1.0)),
    ("RGB in [0, 1] (x / 255, no mean or std)", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    ("OpenPose's ``x / 256 - 0.5`` on [0, 255] pixels", (128 / 255.0,) * 3, (256 / 255.0,) * 3),
)


def published_table():
    """The parsed ``published_ap.json`` (``protocols``, ``sources``, ``models``)."""
    import gluonpose.model_zoo
    path = os.path.join(os.path.dirname(gluonpose.model_zoo.__file__), "published_ap.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def natural_key(name):
    """Sort key that puts ``resnet18`` before ``resnet101``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def normalisation_text(spec):
    """Short description of a spec's input normalisation (and channel order if not RGB)."""
    order = getattr(spec, "channel_order", "rgb")
    suffix = "" if order == "rgb" else ", %s channel order" % order.upper()
    for text, mean, std in NORMALISATIONS:
        if (all(abs(a - b) < 1e-6 for a, b in zip(spec.mean, mean))
                and all(abs(a - b) < 1e-6 for a, b in zip(spec.std, std))):
            return text + suffix
    return "mean (%s), std (%s)%s" % (", ".join("%g" % v for v in spec.mean),
                                      ", ".join("%g" % v for v in spec.std), suffix)


def schema_text(name, short=False):
    """``'COCO (17 joints)'`` (``short``: ``'COCO-17'``) for a schema name."""
    from gluonpose.data.schema import get_schema
    try:
        schema = get_schema(name)
    except (ValueError, KeyError):
        return str(name)
    label = {"coco": "COCO", "mpii": "MPII", "halpe26": "Halpe",
             "halpe136": "Halpe"}.get(schema.name, schema.name)
    if short:
        return "%s-%d" % (label, schema.num_joints)
    return "%s (%d joints)" % (label, schema.num_joints)


def is_bottom_up(spec):
    """Whether a spec is a bottom-up contract (whole image in, every person's keypoints out)."""
    return getattr(spec, "kind", "top_down") == "bottom_up"


def keypoints_text(spec, short=False):
    """The spec's keypoint schema; a bottom-up spec also names its evaluation schema."""
    eval_schema = getattr(spec, "eval_schema", None)
    if eval_schema is None or eval_schema == spec.schema:
        return schema_text(spec.schema, short=short)
    own = spec.schema
    if spec.schema == "openpose18":
        own = "OpenPose-18" if short else "OpenPose (18 parts + background)"
    return "%s, evaluated as %s" % (own, schema_text(eval_schema, short=short))


def outputs_text(spec):
    """The supervised outputs and which one is decoded."""
    if getattr(spec, "grouping", None) == "ae":
        stacks = len(spec.outputs)
        return ("%d stack%s x (detections, tags), all supervised; ``%s`` decoded"
                % (stacks, "" if stacks == 1 else "s", spec.decoded_outputs[0].name))
    if is_bottom_up(spec):
        stages = len(spec.outputs) // 2
        return ("%d stage%s x (PAFs, heatmaps), all supervised; %s decoded"
                % (stages, "" if stages == 1 else "s",
                   " and ".join("``%s``" % o.name for o in spec.decoded_outputs)))
    names = [o.name for o in spec.outputs]
    if len(names) == 1:
        return "one supervised output (``%s``), decoded at inference" % names[0]
    return "supervised outputs %s; ``%s`` is decoded" % (
        ", ".join("``%s``" % n for n in names), spec.decoded_output.name)


#: spec properties shown per family: (key, column header, text of a spec)
SPEC_FIELDS = (
    ("norm", "normalisation", normalisation_text),
    ("stride", "stride", lambda s: "%d" % s.stride),
    ("multiple", "sides multiple of", lambda s: "%d" % s.size_multiple),
    ("schema", "keypoints", lambda s: keypoints_text(s, short=True)),
    ("outputs", "outputs", outputs_text),
)

#: further spec properties of bottom-up families
BOTTOM_UP_FIELDS = (
    ("maps", "output maps", lambda s: "%d heatmap + %d %s channels"
     % ((s.heatmap_channels, s.tag_channels, "tag") if getattr(s, "grouping", None) == "ae"
        else (s.heatmap_channels, s.paf_channels, "PAF"))),
    ("scales", "test scales", lambda s: ", ".join("%g" % v for v in s.test_scales)),
)


def spec_fields(specs):
    """The ``(key, header, text)`` fields shown for a family with these specs."""
    if all(is_bottom_up(s) for s in specs):
        return SPEC_FIELDS + BOTTOM_UP_FIELDS
    return SPEC_FIELDS


def zoo_rows():
    """One dict per (registered model, input size).

    Returns
    -------
    rows : list of dict
        ``model, size, spec`` (``None`` for a backbone), ``family``, ``params``,
        ``gflops``, ``hrnet_gflops``, ``deconv`` (whether the network has
        transposed convolutions), ``store_hashtag`` (what ``pretrained=True``
        loads, or ``None``), ``default`` (the spec's own input size) and
        ``published`` (the matching ``published_ap.json`` entry or ``None``).
    unregistered : list of dict
        Published entries whose model is not registered.
    """
    from gluonpose.model_zoo import get_model, get_model_list, get_model_spec
    from gluonpose.model_zoo.model_store import pretrained_model_list, short_hash
    from gluonpose.utils.model_summary import model_summary

    table = published_table()
    names = sorted(get_model_list(), key=natural_key)
    store = set(pretrained_model_list())
    rows = []
    for name in names:
        spec = get_model_spec(name)
        pub = [m for m in table["models"] if m["model"] == name]
        default = spec.input_size if spec is not None else CLASSIFIER_SIZE
        sizes = [default]
        sizes += [tuple(m["input_size"]) for m in pub if tuple(m["input_size"]) not in sizes]
        net = get_model(name)
        for size in sizes:
            summary = model_summary(net, size)
            match = next((m for m in pub if tuple(m["input_size"]) == size), None)
            rows.append({
                "model": name,
                "size": size,
                "spec": spec,
                "family": spec.family if spec is not None else None,
                "params": summary.params,
                "gflops": summary.gflops,
                "hrnet_gflops": summary.hrnet_gflops,
                "deconv": summary.by_op()["Deconvolution"] > 0,
                "store_hashtag": short_hash(name) if name in store else None,
                "default": size == default,
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


def _family_order(rows):
    known = [key for key, _, _ in FAMILIES]
    present = {r["family"] for r in rows if r["family"] is not None}
    return [k for k in known if k in present] + sorted(present - set(known))


def _weights_cell(row, marks):
    """Hashtag of the weights of a row; marks rows whose AP belongs to another file."""
    pub, store = row["published"], row["store_hashtag"]
    if row["default"] and store:
        if pub and pub["hashtag"] != store:
            marks.append(row)
            return "``%s`` [*]_" % store
        return "``%s``" % store
    return "``%s``" % pub["hashtag"] if pub else "--"


def family_rst(family, rows, source_keys):
    """Heading, spec line and table of one family's rows."""
    title, about = next(((t, a) for k, t, a in FAMILIES if k == family),
                        (family.replace("_", " "), ""))
    specs = [r["spec"] for r in rows]
    bottom_up = all(is_bottom_up(s) for s in specs)
    constant, varying = [], []
    for key, header, text in spec_fields(specs):
        values = {text(s) for s in specs}
        (constant if len(values) == 1 else varying).append((key, header, text))
    const = {key: text(specs[0]) for key, _, text in constant}
    facts = []
    if bottom_up:
        facts.append("bottom-up (the whole image in, every person's keypoints out)")
    if "norm" in const:
        facts.append("input normalised with %s" % const["norm"])
    if "stride" in const:
        facts.append("%s at stride %s" % ("output maps" if bottom_up else "heatmaps",
                                          const["stride"]))
    if "multiple" in const:
        facts.append("input sides multiples of %s" % const["multiple"])
    if "schema" in const:
        facts.append("keypoint schema %s" % keypoints_text(specs[0]))
    if "outputs" in const:
        facts.append(const["outputs"])
    if "maps" in const:
        facts.append(const["maps"])
    if "scales" in const:
        facts.append("test scales %s" % const["scales"])
    out = [".. rubric:: %s" % title, ""]
    if about:
        out += [about, ""]
    out += ["Spec (``get_model_spec(name)``, family ``%s``): %s." % (family, "; ".join(facts)),
            ""]

    hrnet = any(r["deconv"] for r in rows)
    published = any(r["published"] for r in rows)
    sources = sorted({r["published"]["source"] for r in rows if r["published"]},
                     key=source_keys.index)
    if len(sources) == 1:       # one published table per family: cite it once
        out += ["COCO APs as published in [%d]_ (protocol under the tables)."
                % (source_keys.index(sources[0]) + 1), ""]
    source_column = len(sources) > 1
    header = ["model", "input (HxW)"] + [h for _, h, _ in varying] + ["params (M)", "GFLOPs"]
    widths = [26, 8] + [12] * len(varying) + [7, 7]
    if hrnet:
        header.append("GFLOPs (HRNet count)")
        widths.append(8)
    header.append("weights")
    widths.append(10)
    if published:
        header += ["COCO AP / AP50 / AP75", "... with flip test"]
        widths += [13, 13]
    if source_column:
        header.append("source")
        widths.append(6)
    body, marks = [], []
    for r in rows:
        pub = r["published"]
        cells = ["``%s``" % r["model"], "%dx%d" % r["size"]]
        cells += [text(r["spec"]) for _, _, text in varying]
        cells += ["%.1f" % (r["params"] / 1e6), "%.2f" % r["gflops"]]
        if hrnet:
            cells.append("%.2f" % r["hrnet_gflops"] if r["deconv"] else "--")
        cells.append(_weights_cell(r, marks))
        if published:
            cells += [_ap(pub["ap"]) if pub else "--", _ap(pub["ap_flip"]) if pub else "--"]
        if source_column:
            cells.append("[%d]_" % (source_keys.index(pub["source"]) + 1) if pub else "--")
        body.append(cells)
    out += _list_table(header, body, widths)
    out.append("")
    for r in marks:
        note = r["published"].get("note")
        out += [".. [*] ``%s``: ``pretrained=True`` loads ``%s``; the AP is the one published "
                "for ``%s``%s." % (r["model"], r["store_hashtag"], r["published"]["hashtag"],
                                   " (%s)" % note if note else ""), ""]
    for r in rows:
        if r["published"] and r["published"].get("note") and r not in marks:
            out += ["``%s`` (``%s``): %s." % (r["model"], r["published"]["hashtag"],
                                              r["published"]["note"]), ""]
    out += reference_structure_rst(rows)
    return out


def reference_structure_rst(rows):
    """A table setting this page's counts beside the structure a reference publishes.

    Only for the models of ``rows`` listed in :data:`REFERENCE_STRUCTURE`; the
    counts here are the ones of the rows (computed from the symbol graph).
    """
    body = []
    for model, size, params, gflops, convention, source in REFERENCE_STRUCTURE:
        row = next((r for r in rows if r["model"] == model and r["size"] == size), None)
        if row is None:
            continue
        body.append(["``%s``" % model, "%dx%d" % size,
                     "%.2f / %g" % (row["params"] / 1e6, params),
                     "%.2f (HRNet count %.2f) / %s" % (row["gflops"], row["hrnet_gflops"],
                                                          "--" if gflops is None
                                                          else "%g" % gflops),
                     convention, source])
    if not body:
        return []
    out = ["Structure beside the reference (params in millions, GFLOPs; *here / published*):",
           ""]
    out += _list_table(["model", "input (HxW)", "params (M)", "GFLOPs", "published count",
                        "published in"], body, [18, 7, 9, 14, 16, 24])
    out.append("")
    return out


def model_zoo_rst():
    """The generated part of the model-zoo page, as reStructuredText."""
    table = published_table()
    rows, unregistered = zoo_rows()
    source_keys = list(table["sources"])
    out = []

    for family in _family_order(rows):
        out += family_rst(family, [r for r in rows if r["family"] == family], source_keys)

    out += [".. rubric:: ImageNet backbones", "",
            "The trunks of the pose networks (``pretrained_base=True`` loads their ImageNet "
            "weights); no spec, summarised at %dx%d:" % CLASSIFIER_SIZE, ""]
    body = []
    for r in rows:
        if r["spec"] is not None:
            continue
        body.append(["``%s``" % r["model"], "%dx%d" % r["size"], "%.1f" % (r["params"] / 1e6),
                     "%.2f" % r["gflops"],
                     "``%s``" % r["store_hashtag"] if r["store_hashtag"] else "not published"])
    out += _list_table(["model", "input (HxW)", "params (M)", "GFLOPs", "weights"], body,
                       [30, 12, 12, 12, 16])
    out.append("")

    if unregistered:
        out += [".. rubric:: Published, not built yet", "",
                "Weights GluonCV publishes for models gluonpose does not build yet (listed so "
                "the numbers can be compared once they are added):", ""]
        body = [["``%s``" % m["model"], "%dx%d" % tuple(m["input_size"]),
                 "``%s``" % m["hashtag"], _ap(m["ap"]), _ap(m["ap_flip"]),
                 "[%d]_" % (source_keys.index(m["source"]) + 1)] for m in unregistered]
        out += _list_table(["model", "input (HxW)", "weights", "COCO AP / AP50 / AP75",
                            "... with flip test", "source"], body, [30, 10, 10, 16, 16, 6])
        out.append("")
        for m in unregistered:
            if m.get("note"):
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
