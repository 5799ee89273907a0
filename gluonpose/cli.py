"""The ``gluonpose`` command line (also ``python -m gluonpose``).

Each sub-command is a thin layer over the library. Errors that come from the
user's input or environment (a missing file, no network, a bad checksum, a
malformed option) print one ``gluonpose: error: ...`` line and exit with
status 1 instead of a traceback.

``train`` and ``eval`` take GluonCV's option names (``train_simple_pose.py``,
``validate.py``), so GluonCV command lines work unchanged, plus gluonpose's own
(``--codec``, ``--seed``, ``--resume``, ``--ctx``, ``--det-file``, ``--oracle``,
...). ``scripts/train_simple_pose.py`` and ``scripts/validate.py`` are these
two sub-commands under GluonCV's script names.
"""
import argparse
import os
import sys

from .utils.cli_common import _Parser, _parse, _run

__all__ = ["main", "build_parser", "add_train_options", "add_eval_options", "train_main",
           "eval_main"]

SUPPRESS = argparse.SUPPRESS


# ----------------------------------------------------------------------------- helpers

def _opt(group, defaults, *flags, help="", **kw):
    """Add an option whose absence leaves no attribute (so explicit choices are known)."""
    dest = kw.get("dest") or flags[-1].lstrip("-").replace("-", "_")
    if dest in defaults and defaults[dest] not in (None, False) \
            and kw.get("action") not in ("store_true", "store_false"):
        help += " (default %s)" % (defaults[dest],)
    group.add_argument(*flags, default=SUPPRESS, help=help, **kw)


def _common_options(p, d):
    g = p.add_argument_group("model and data (GluonCV names)")
    _opt(g, d, "--model", type=str, help="model name, e.g. simple_pose_resnet18_v1b")
    _opt(g, d, "--num-joints", type=int,
         help="number of joints; default: the dataset's keypoint schema (17 for COCO)")
    _opt(g, d, "--data-dir", type=str,
         help="COCO root (annotations/, train2017/, val2017/); 'mini' = the bundled set")
    _opt(g, d, "--batch-size", type=int, help="batch size per device")
    _opt(g, d, "--dtype", type=str, choices=("float32", "float16"), help="network dtype")
    _opt(g, d, "--num-gpus", type=int, help="use gpu(0) .. gpu(N-1); 0 = CPU")
    _opt(g, d, "-j", "--num-data-workers", dest="num_data_workers", type=int,
         help="data-loader worker processes")
    _opt(g, d, "--input-size", type=str, help="network input H,W")
    _opt(g, d, "--mean", type=str, help="normalisation mean (R,G,B of x/255)")
    _opt(g, d, "--std", type=str, help="normalisation std")
    _opt(g, d, "--mode", type=str, help="'hybrid' hybridizes the network")
    g = p.add_argument_group("gluonpose options")
    _opt(g, d, "--split", type=str, help="annotation file name without .json")
    _opt(g, d, "--gpus", type=str, help="GPU ids, e.g. 0,1 (instead of --num-gpus)")
    _opt(g, d, "--ctx", type=str,
         help="explicit devices, e.g. cpu:0,cpu:1 or gpu:0,gpu:1 or cpu*2 (several CPU "
              "contexts test multi-device code without GPUs)")
    _opt(g, d, "--codec", type=str, choices=("msra", "unbiased", "dark", "integral"),
         help="codec: Gaussian heatmaps msra (GluonCV) or unbiased (DARK), or integral "
              "regression (L1 on soft-argmax coordinates, AlphaPose's)")
    _opt(g, d, "--sigma", type=float, help="Gaussian sigma of the heatmaps (heatmap pixels)")
    _opt(g, d, "--max-samples", type=int, help="use only the first N person instances")
    _opt(g, d, "--output-dir", type=str, help="where logs / results go")
    g.add_argument("--no-progress", dest="progress", action="store_false", default=SUPPRESS,
                   help="no tqdm progress bars")


def add_train_options(p):
    """The options of ``gluonpose train`` / ``scripts/train_simple_pose.py``."""
    from .engine.config import TRAIN_DEFAULTS as d
    _common_options(p, d)
    g = p.add_argument_group("optimisation (GluonCV names)")
    _opt(g, d, "--num-epochs", type=int, help="training epochs")
    _opt(g, d, "--lr", type=float, help="learning rate")
    _opt(g, d, "--wd", type=float, help="weight decay")
    _opt(g, d, "--lr-mode", type=str, choices=("step", "linear", "poly", "cosine", "constant"),
         help="learning-rate schedule")
    _opt(g, d, "--lr-decay", type=float, help="step-mode decay factor")
    _opt(g, d, "--lr-decay-period", type=int, help="decay every N epochs (0: use --lr-decay-epoch)")
    _opt(g, d, "--lr-decay-epoch", type=str, help="epochs at which to decay, e.g. 90,120")
    _opt(g, d, "--warmup-epochs", type=int, help="linear warmup epochs from lr 0")
    _opt(g, d, "--warmup-lr", type=float, help="accepted for GluonCV; has no effect there either")
    g.add_argument("--last-gamma", action="store_true", default=SUPPRESS,
                   help="accepted for GluonCV; has no effect there either")
    g.add_argument("--no-wd", action="store_true", default=SUPPRESS,
                   help="accepted for GluonCV; has no effect there either")
    g.add_argument("--use-pretrained", action="store_true", default=SUPPRESS,
                   help="start from the published weights of --model")
    g.add_argument("--use-pretrained-base", action="store_true", default=SUPPRESS,
                   help="start from an ImageNet backbone")
    _opt(g, d, "--save-frequency", type=int, help="checkpoint every N epochs (0: only the last)")
    _opt(g, d, "--save-dir", type=str, help="checkpoint folder")
    _opt(g, d, "--log-interval", type=int, help="log every N batches")
    _opt(g, d, "--logging-file", type=str, help="text log (relative: inside --output-dir)")
    g = p.add_argument_group("gluonpose training options")
    _opt(g, d, "--kvstore", type=str,
         choices=("device", "local", "dist_sync", "dist_device_sync", "dist_async", "nccl"),
         help="gluon.Trainer kvstore")
    _opt(g, d, "--optimizer", type=str, choices=("adam", "sgd"), help="optimizer (GluonCV: adam)")
    _opt(g, d, "--momentum", type=float, help="SGD momentum")
    _opt(g, d, "--lr-mult", type=str, metavar="REGEX=W[:B];...",
         help="learning-rate multipliers of the parameters whose structural name matches "
              "REGEX (W on weights, B on biases; first match wins), e.g. "
              "'^resnet=0.1' for a slow trunk; default: the model spec's rules")
    _opt(g, d, "--seed", type=int, help="seed of every random choice of the run")
    _opt(g, d, "--scale-factor", type=float, help="scale augmentation")
    _opt(g, d, "--rotation-factor", type=float, help="rotation augmentation (degrees)")
    g.add_argument("--no-flip", dest="random_flip", action="store_false", default=SUPPRESS,
                   help="no random horizontal flip")
    _opt(g, d, "--half-body-prob", type=float, help="half-body augmentation probability")
    g.add_argument("--cache-images", action="store_true", default=SUPPRESS,
                   help="keep decoded images in memory")
    _opt(g, d, "--resume", type=str,
         help="'auto' (newest good checkpoint in --save-dir) or a checkpoint file")
    _opt(g, d, "--load-params", type=str, help="initialise from a .params file (weights only)")
    _opt(g, d, "--stop-after", type=int,
         help="stop with a checkpoint after N epochs of this invocation")


def add_eval_options(p):
    """The options of ``gluonpose eval`` / ``scripts/validate.py``."""
    from .engine.config import EVAL_DEFAULTS as d
    _common_options(p, d)
    g = p.add_argument_group("evaluation (GluonCV names)")
    _opt(g, d, "--params-file", type=str,
         help="weights to evaluate (a .params or checkpoint .ckpt.json); default: the "
              "published weights of --model")
    g.add_argument("--use-pretrained", action="store_true", default=SUPPRESS,
                   help="evaluate the published weights (the default without --params-file)")
    g.add_argument("--flip-test", action="store_true", default=SUPPRESS,
                   help="average with the horizontally flipped input")
    _opt(g, d, "--score-threshold", type=float,
         help="joints above this confidence form the instance score")
    for flag in ("--model-prefix", "--quantized-dtype", "--calib-mode"):
        g.add_argument(flag, dest="unsupported_" + flag[2:].replace("-", "_"),
                       default=SUPPRESS, help=SUPPRESS)
    for flag in ("--deploy", "--quantized", "--benchmark", "--calibration", "--dsnt"):
        g.add_argument(flag, dest="unsupported_" + flag[2:], action="store_true",
                       default=SUPPRESS, help=SUPPRESS)
    for flag in ("--num-iterations", "--num-calib-batches"):
        g.add_argument(flag, dest="unsupported_" + flag[2:].replace("-", "_"), type=int,
                       default=SUPPRESS, help=SUPPRESS)
    g = p.add_argument_group("gluonpose evaluation options")
    _opt(g, d, "--det-file", type=str,
         help="COCO-format person detections to use instead of ground-truth boxes")
    _opt(g, d, "--det-score-thresh", type=float, help="drop detections below this score")
    _opt(g, d, "--oks-nms", type=float, help="per-image OKS-NMS threshold (e.g. 0.9)")
    _opt(g, d, "--pose-nms", type=str, choices=("none", "oks", "soft-oks", "parametric"),
         help="per-image pose NMS: none, oks (threshold --oks-nms, default 0.9), soft-oks, "
              "or parametric (AlphaPose's, merges duplicates); default: oks with --oks-nms, "
              "else none")
    g.add_argument("--oracle", action="store_true", default=SUPPRESS,
                   help="score perfect heatmaps (GT encoded then decoded): the codec's ceiling")
    _opt(g, d, "--save-prefix", type=str, help="results json name prefix")
    g.add_argument("--scales", type=str, default=SUPPRESS, metavar="S1,S2,...",
                   help="bottom-up models: test scales relative to the input height "
                        "(default: the model's, e.g. 0.5,1,1.5,2 for openpose_vgg19_coco)")
    g.add_argument("--labelled-only", action="store_true", default=SUPPRESS,
                   help="bottom-up models: evaluate only the images with a labelled person "
                        "(the images an AE model trains on; memorisation checks)")
    g.add_argument("-v", "--verbose", action="store_true", default=SUPPRESS,
                   help="also print pycocotools' COCOeval table")


# ----------------------------------------------------------------------------- commands

def _explicit(args):
    return {k: v for k, v in vars(args).items() if k not in ("func", "command")}


def _cmd_train(args):
    from .engine.config import DEAD_FLAGS, TRAIN_DEFAULTS, make_config
    from .engine.trainer import resume_config, train
    given = _explicit(args)
    echo = _echo
    for key in [k for k in given if k in DEAD_FLAGS]:
        given.pop(key)
        echo("note: " + DEAD_FLAGS[key])
    if given.get("resume"):
        cfg, found = resume_config(given, echo=echo)
    else:
        cfg, found = make_config(TRAIN_DEFAULTS, given), None
    result = train(cfg, echo=echo, resume_from=found)
    print("training log: %s" % result.log_file)
    if os.path.isfile(result.plot_file):
        print("curves: %s" % result.plot_file)
    if result.checkpoint is not None:
        print("checkpoint: %s" % result.checkpoint.params_file)
    if result.stopped in ("SIGINT", "SIGTERM"):
        return 128 + (2 if result.stopped == "SIGINT" else 15)
    return 0


def _cmd_eval(args):
    from .engine.config import EVAL_DEFAULTS, make_config
    from .engine.evaluate import evaluate
    given = _explicit(args)
    bad = sorted(k for k in given if k.startswith("unsupported_"))
    if bad:
        raise ValueError("--%s (GluonCV validate.py) is not supported by gluonpose eval"
                         % bad[0][len("unsupported_"):].replace("_", "-"))
    # bottom-up only; not EVAL_DEFAULTS keys
    extra = {k: given.pop(k) for k in ("scales", "labelled_only") if k in given}
    cfg = make_config(EVAL_DEFAULTS, given)
    if extra:
        from .model_zoo import spec_of
        if getattr(spec_of(cfg.get("model"), cfg.get("model")), "kind", "") != "bottom_up":
            raise ValueError("--%s applies to bottom-up models (e.g. openpose_vgg19_coco)"
                             % sorted(extra)[-1].replace("_", "-"))
        cfg.update(extra)
    result = evaluate(cfg, echo=print)
    print("results: %s" % result.results_file)
    print("protocol: %s" % result.protocol_file)
    return 0


def _echo(msg):
    print(msg, file=sys.stderr if msg.startswith("warning") else sys.stdout)


def _cmd_models(args):
    from .model_zoo import get_model_list
    from .model_zoo.model_store import pretrained_model_list
    published = set(pretrained_model_list())
    for name in get_model_list():
        if args.pretrained and name not in published:
            continue
        print("%-28s%s" % (name, "  pretrained" if name in published else ""))
    return 0


def _cmd_download(args):
    from .model_zoo.model_store import get_model_file
    print(get_model_file(args.name, tag=args.tag, root=args.root))
    return 0


def build_parser():
    """The argument parser with every sub-command."""
    parser = _Parser(prog="gluonpose", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("models", help="list the registered models")
    p.add_argument("--pretrained", action="store_true", help="only those with published weights")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("download", help="fetch a model's published weights into the cache")
    p.add_argument("name", help="model name, e.g. simple_pose_resnet18_v1b")
    p.add_argument("--tag", default=None, help="8-hex hashtag of a specific weight file")
    p.add_argument("--root", default=None, help="cache directory (default ~/.mxnet/models)")
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser("train", help="train a top-down pose model (GluonCV's options)",
                       description="Train a top-down pose model; GluonCV's "
                                   "train_simple_pose.py options plus gluonpose's.")
    add_train_options(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="COCO keypoint AP with a protocol record",
                       description="Evaluate COCO keypoint AP (GT or detector boxes, flip test, "
                                   "codec) and write the results json plus a protocol record.")
    add_eval_options(p)
    p.set_defaults(func=_cmd_eval)

    from .deploy.cli import add_export_options, cmd_export     # argparse only: cheap
    p = sub.add_parser("export", help="export to ONNX or MXNet symbol (FP32 or INT8) with a "
                                      "numpy-only decoder",
                       description="Write a deployment folder: the model (ONNX or MXNet "
                                   "symbol, optionally oneDNN INT8), pose_decoder.py (numpy "
                                   "only) and deploy.json.")
    add_export_options(p)
    p.set_defaults(func=cmd_export)

    from .inference.cli import add_predict_parser      # argparse only: cheap to import
    add_predict_parser(sub)

    from .tracking.cli import add_eval_track_parser    # argparse only: cheap to import
    add_eval_track_parser(sub)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args, status = _parse(build_parser(), argv)
    return status if args is None else _run(args.func, args)


def _script_main(prog, add_options, func, argv=None):
    parser = _Parser(prog=prog)
    add_options(parser)
    args, status = _parse(parser, argv)
    return status if args is None else _run(func, args)


def train_main(argv=None, prog="train_simple_pose.py"):
    """``scripts/train_simple_pose.py``: ``gluonpose train`` under GluonCV's script name."""
    return _script_main(prog, add_train_options, _cmd_train, argv)


def eval_main(argv=None, prog="validate.py"):
    """``scripts/validate.py``: ``gluonpose eval`` under GluonCV's script name."""
    return _script_main(prog, add_eval_options, _cmd_eval, argv)


if __name__ == "__main__":
    sys.exit(main())
