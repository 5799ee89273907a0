"""``gluonpose export``: write a deployment folder (ONNX or MXNet symbol, FP32 or INT8).

Examples::

    gluonpose export --model simple_pose_resnet18_v1b --params runs/quickstart/x.params \\
        --input-size 128,96 --codec unbiased --format onnx --output deploy_r18
    gluonpose export --model simple_pose_resnet18_v1b --params x.params --input-size 128,96 \\
        --format symbol --int8 --calib-mode naive --report --output deploy_r18_int8
    gluonpose export --model openpose_mobilenet_light_coco --params-file light.params \\
        --input-size 368,368 --output deploy_openpose
    gluonpose export --model ae_hourglass_2stack_light_coco --params-file ae.params \\
        --input-size 256,256 --output deploy_ae

Bottom-up models (``spec.kind == 'bottom_up'``) export their decoded pair as
two ONNX outputs with a dynamic input height and width: OpenPose the last
stage's PAFs and heatmaps (``pafs``, ``heatmaps``), the folder's
``pose_decoder.py`` (with ``paf_codec.py``) running the test protocol with
numpy and OpenCV; Associative Embedding the last stack's detections and tags
(``detections``, ``tags``), with ``ae_codec.py`` and numpy, OpenCV and scipy.
The top-down options ``--codec``, ``--sigma``, ``--schema``, ``--num-joints``
and ``--int8`` are refused for them.

Bad input gives one ``gluonpose: error: <what>: <why>`` line: a missing or
mismatched params file, a malformed ``--input-size``, an output folder that
cannot be written or already holds files.
"""
import os

__all__ = ["add_export_options", "cmd_export"]


def add_export_options(parser):
    """Add the ``gluonpose export`` options to an argparse parser."""
    from ..engine.config import EVAL_DEFAULTS
    p = parser
    p.add_argument("--model", required=True, help="model name, e.g. simple_pose_resnet18_v1b")
    p.add_argument("--params", "--params-file", dest="params", default=None,
                   help="trained weights (.params or a checkpoint's .ckpt.json); default: the "
                        "published weights of --model")
    p.add_argument("--input-size", default=None,
                   help="network input H,W (default: the model's, e.g. 256,192); bottom-up "
                        "models: the size the graph is traced at, H also the image height at "
                        "scale 1 of the deployed decoder (the ONNX input's H, W are dynamic)")
    p.add_argument("--format", dest="export_format", choices=("onnx", "symbol"), default="onnx",
                   help="onnx (model.onnx) or symbol (MXNet model-symbol.json + "
                        "model-0000.params) (default onnx)")
    p.add_argument("--output", required=True, help="deployment folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    p.add_argument("--codec", choices=("msra", "unbiased", "dark", "integral"), default="msra",
                   help="heatmap decoding the model was trained for (default msra)")
    p.add_argument("--sigma", type=float, default=None,
                   help="target sigma in heatmap pixels (default 2; GluonCV used 1 at 128x96)")
    p.add_argument("--num-joints", type=int, default=None,
                   help="joints of the model (default: the schema's)")
    p.add_argument("--schema", default=None,
                   help="keypoint schema name (default: the model's, e.g. coco)")
    p.add_argument("--mean", default=EVAL_DEFAULTS["mean"],
                   help="normalisation mean (default: the model's)")
    p.add_argument("--std", default=EVAL_DEFAULTS["std"],
                   help="normalisation std (default: the model's)")
    p.add_argument("--fixed-batch", type=int, default=None,
                   help="ONNX: fix the batch axis to N (default: dynamic batch)")
    g = p.add_argument_group("INT8 (MXNet oneDNN, CPU; --format symbol)")
    g.add_argument("--int8", action="store_true",
                   help="quantize to INT8, calibrated on crops of the bundled mini COCO set")
    g.add_argument("--calib-mode", choices=("naive", "entropy"), default="naive",
                   help="calibration: layer min/max (naive) or KL-optimal ranges (entropy)")
    g.add_argument("--num-calib-examples", type=int, default=None,
                   help="calibration crops (default all 86 people of the mini set)")
    g.add_argument("--report", action="store_true",
                   help="with --int8: print FP32 and INT8 AP on the mini set (GT boxes, no "
                        "flip) and their keypoint agreement (PCK@0.05)")


def _params_file(path, model):
    from ..model_zoo.model_store import get_model_file
    if not path:
        return get_model_file(model)
    path = os.path.abspath(os.path.expanduser(path))
    if path.endswith(".ckpt.json"):
        path = path[:-len(".ckpt.json")] + ".params"
    if not os.path.isfile(path):
        raise FileNotFoundError("--params %s: no such file" % path)
    return path


def _load_net(model, params, num_joints):
    import mxnet as mx
    from ..model_zoo import get_model
    net = get_model(model, **({} if num_joints is None else {"num_joints": num_joints}))
    try:
        net.load_parameters(params, ctx=mx.cpu())
    except (AssertionError, mx.base.MXNetError, KeyError, IndexError) as err:
        text = str(err).strip().splitlines()
        why = next((line for line in text if line.strip()), type(err).__name__)
        raise ValueError("--params %s: does not match %s (%s)"
                         % (params, model, why.strip()[:200])) from None
    return net


def _check_output(args):
    out = os.path.abspath(os.path.expanduser(args.output))
    parent = os.path.dirname(out)
    if os.path.isdir(parent) and not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError("--output %s: cannot write in %s" % (args.output, parent))
    if os.path.isfile(out):
        raise ValueError("--output %s: exists and is not a folder" % args.output)
    if os.path.isdir(out) and os.listdir(out) and not args.overwrite:
        raise ValueError("--output %s: folder exists and is not empty (use --overwrite)"
                         % args.output)
    return out


def _cmd_export_bottom_up(args, spec):
    """``gluonpose export`` of a bottom-up model: two outputs, the grouping's decoder.

    OpenPose (``spec.grouping == 'paf'``) and Associative Embedding (``'ae'``)
    alike: :func:`~gluonpose.deploy.export.bottom_up_deploy_config` and
    :func:`~gluonpose.deploy.export.write_deployment` pick the grouping's files.
    """
    from ..engine.config import parse_floats, parse_size
    from .export import _check_input_size, bottom_up_deploy_config, write_deployment
    top_down_only = [name for name, used in (
        ("--int8", args.int8), ("--report", args.report),
        ("--codec", args.codec != "msra"), ("--sigma", args.sigma is not None),
        ("--num-joints", args.num_joints is not None), ("--schema", args.schema is not None))
        if used]
    if top_down_only:
        raise ValueError("%s: top-down only; %s is a bottom-up model (its %s grouping settings "
                         "come from its spec)" % (", ".join(top_down_only), args.model,
                                                  spec.grouping.upper()))
    size = _check_input_size(parse_size(args.input_size or "%d,%d" % spec.input_size), spec)
    if args.fixed_batch is not None and args.fixed_batch < 1:
        raise ValueError("--fixed-batch must be >= 1, got %d" % args.fixed_batch)
    mean = spec.mean if args.mean is None else parse_floats(args.mean, 3, "--mean")
    std = spec.std if args.std is None else parse_floats(args.std, 3, "--std")
    out = _check_output(args)
    params = _params_file(args.params, args.model)
    net = _load_net(args.model, params, None)
    fmt = args.export_format
    config = bottom_up_deploy_config(args.model, size, spec, fmt, mean=mean, std=std,
                                     dynamic_batch=args.fixed_batch is None,
                                     extra={"source_params": os.path.basename(params)})
    written = write_deployment(net, out, config, dynamic_batch=args.fixed_batch is None,
                               batch_size=args.fixed_batch or 1, overwrite=args.overwrite)
    print("exported %s (%s, bottom-up, %s grouping) to %s: %s"
          % (args.model, fmt, spec.grouping, out, ", ".join(sorted(written["files"]["sha1"]))))
    return 0


def cmd_export(args):
    """Run ``gluonpose export`` with parsed ``args``; returns the exit status."""
    from ..data.schema import get_schema
    from ..engine.config import model_spec, parse_floats, parse_size
    from .export import _check_input_size, deploy_config, write_deployment

    spec = model_spec(args.model)
    if getattr(spec, "kind", "top_down") == "bottom_up":
        return _cmd_export_bottom_up(args, spec)
    size = _check_input_size(parse_size(args.input_size or "%d,%d" % spec.input_size), spec)
    if args.int8 and args.export_format == "onnx":
        raise ValueError("--int8: INT8 runs on MXNet's oneDNN kernels and is exported as "
                         "--format symbol (ONNX export is FP32)")
    if args.report and not args.int8:
        raise ValueError("--report compares INT8 with FP32; add --int8")
    if args.fixed_batch is not None and args.fixed_batch < 1:
        raise ValueError("--fixed-batch must be >= 1, got %d" % args.fixed_batch)
    mean = spec.mean if args.mean is None else parse_floats(args.mean, 3, "--mean")
    std = spec.std if args.std is None else parse_floats(args.std, 3, "--std")
    schema = get_schema(args.schema or spec.schema)
    num_joints = args.num_joints or schema.num_joints
    if num_joints != schema.num_joints:
        raise ValueError("--num-joints %d, but schema %s has %d joints"
                         % (num_joints, schema.name, schema.num_joints))
    sigma = spec.decode_sigma(2.0) if args.sigma is None else float(args.sigma)
    if sigma <= 0:
        raise ValueError("--sigma must be > 0, got %g" % sigma)
    out = _check_output(args)
    params = _params_file(args.params, args.model)
    net = _load_net(args.model, params, num_joints)
    qnet, extra = None, {"source_params": os.path.basename(params)}
    fmt = args.export_format
    if args.int8:
        from .quantize import quantization_summary, quantize
        print("calibrating INT8 (%s) on crops of the bundled mini COCO set ..." % args.calib_mode)
        qnet = quantize(net, size, calib_mode=args.calib_mode,
                        num_calib_examples=args.num_calib_examples)
        summary = quantization_summary(qnet)
        extra["int8"] = {"calib_mode": args.calib_mode, "calib_set": "gluonpose mini COCO",
                         "num_calib_examples": args.num_calib_examples,
                         "int8_ops": summary["int8"], "fp32_ops": summary["fp32"]}
        fmt = "symbol-int8"
        if summary["fp32"]:
            print("kept in FP32 (no INT8 kernel in MXNet %s): %s" % (
                __import__("mxnet").__version__,
                ", ".join("%s x%d" % kv for kv in summary["fp32"].items())))
    config = deploy_config(args.model, size, args.codec, sigma, schema, mean, std, fmt,
                           dynamic_batch=args.fixed_batch is None, extra=extra, spec=spec)
    written = write_deployment(net, out, config, dynamic_batch=args.fixed_batch is None,
                               batch_size=args.fixed_batch or 1, quantized_net=qnet,
                               overwrite=args.overwrite)
    print("exported %s (%s) to %s: %s" % (args.model, fmt, out,
                                          ", ".join(sorted(written["files"]["sha1"]))))
    if args.report:
        from .quantize import int8_report
        rep = int8_report(net, qnet, size, codec=config["codec"], sigma=sigma)
        print("mini COCO (%d people, GT boxes, no flip): AP FP32 %.4f, INT8 %.4f; INT8 vs FP32 "
              "PCK@%.2f %.4f (all joints), %.4f (labelled joints)"
              % (rep["num_people"], rep["ap_fp32"], rep["ap_int8"], rep["threshold"],
                 rep["pck_all"], rep["pck_labelled"]))
    return 0
