"""``gluonpose eval-track``: tracking metrics of a results file against a ground truth.

Both files use the per-frame layout of :mod:`gluonpose.tracking.io` (the
results of ``gluonpose predict --track-json``, the ground truth of
``tools/make_track_sequence.py``). People are matched frame by frame on OKS
(:func:`~gluonpose.tracking.evaluate.track_metrics`), and the table states
that protocol next to the figures.
"""
import math

__all__ = ["add_eval_track_parser", "eval_track_main", "format_table"]

#: (label, metric key, format) of the printed table, in order
_ROWS = (("MOTA", "mota", "%.4f"), ("IDF1", "idf1", "%.4f"),
         ("ID switches", "num_switches", "%d"), ("false positives", "num_false_positives", "%d"),
         ("misses", "num_misses", "%d"), ("precision", "precision", "%.4f"),
         ("recall", "recall", "%.4f"), ("mean OKS (matched)", "mean_oks", "%.4f"))


def add_eval_track_parser(subparsers):
    """Register ``eval-track`` on the ``gluonpose`` sub-command parser."""
    p = subparsers.add_parser(
        "eval-track", help="MOTA, IDF1 and identity switches of tracked poses",
        description="Score tracked poses (PRED) against ground-truth identities (GT): "
                    "MOTA, IDF1, identity switches, false positives, misses, precision, "
                    "recall and mean OKS, with people matched per frame on OKS. Both files "
                    "use the per-frame json of gluonpose.tracking.io.")
    p.add_argument("gt", metavar="GT.json", help="ground truth (e.g. ground_truth.json of "
                                                 "tools/make_track_sequence.py)")
    p.add_argument("pred", metavar="PRED.json", help="tracked results (gluonpose predict "
                                                     "--track-json)")
    p.add_argument("--oks-threshold", type=float, default=0.5,
                   help="smallest OKS at which a prediction may match a ground-truth person "
                        "(default 0.5)")
    p.add_argument("--schema", default=None,
                   help="keypoint schema giving the OKS sigmas (default: the ground truth's "
                        "'schema' entry, else coco)")
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT",
                   help="also write the metrics and the protocol to this json file")
    p.set_defaults(func=eval_track_main)
    return p


def _value(fmt, value):
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return fmt % value


def format_table(metrics, protocol):
    """The printed report: the protocol line, the counts and the metric table."""
    lines = ["matching: OKS >= %g, %s sigmas, ground-truth area as the scale; CLEAR-MOT "
             "(motmetrics)" % (protocol["oks_threshold"], protocol["schema"]),
             "frames: %d ground truth, %d predicted; people: %d ground truth (%d identities), "
             "%d predicted" % (protocol["gt_frames"], protocol["pred_frames"],
                               metrics["num_objects"], metrics["num_unique_objects"],
                               metrics["num_predictions"]),
             "", "| metric | value |", "| --- | ---: |"]
    lines += ["| %s | %s |" % (label, _value(fmt, metrics[key])) for label, key, fmt in _ROWS]
    return "\n".join(lines)


def eval_track_main(args):
    """Run ``gluonpose eval-track``; returns the exit status."""
    from ..data.schema import get_schema
    from ..utils.atomic import write_json
    from .evaluate import track_metrics
    from .io import read_track_json

    if not 0.0 < args.oks_threshold <= 1.0:
        raise ValueError("--oks-threshold must be in (0, 1], got %g" % args.oks_threshold)
    if args.schema is not None:
        get_schema(args.schema)                       # an unknown name fails here, clearly
    gt = read_track_json(args.gt, args.schema)
    schema = get_schema(args.schema if args.schema is not None else gt.get("schema", "coco"))
    pred = read_track_json(args.pred, schema)
    try:
        metrics = track_metrics(gt["frames"], pred["frames"], schema=schema,
                                oks_threshold=args.oks_threshold)
    except ImportError:
        raise RuntimeError("eval-track needs motmetrics: pip install motmetrics") from None
    protocol = {"gt": args.gt, "pred": args.pred, "oks_threshold": args.oks_threshold,
                "schema": schema.name, "match": "OKS (pycocotools formula, ground-truth "
                "visible joints, ground-truth area), CLEAR-MOT assignment (motmetrics)",
                "gt_frames": len(gt["frames"]), "pred_frames": len(pred["frames"])}
    print(format_table(metrics, protocol))
    if args.json_out:
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                 for k, v in metrics.items()}
        write_json(args.json_out, {"metrics": clean, "protocol": protocol}, indent=1)
        print("metrics: %s" % args.json_out)
    return 0
