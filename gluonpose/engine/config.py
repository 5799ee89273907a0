"""Run configuration: one flat, JSON-friendly record of every training/eval option.

The same names serve the command line (``--batch-size`` -> ``batch_size``),
the engine and the checkpoint manifest, so a checkpoint can rebuild the run
that wrote it. Parsing helpers turn GluonCV's string options (``'256,192'``,
``'40,60'``) into values and fail with one clear ``ValueError``.
"""
import copy
import os

import mxnet as mx

__all__ = ["TRAIN_DEFAULTS", "EVAL_DEFAULTS", "RESULT_KEYS", "parse_size", "parse_floats", "plain_number",
           "model_spec", "apply_spec_defaults", "require_top_down", "parse_lr_mult",
           "parse_ints", "parse_contexts", "context_names", "make_config", "resolve_data",
           "DEAD_FLAGS"]

#: Defaults of ``gluonpose train``. GluonCV's ``train_simple_pose.py`` defaults are
#: kept for its options (lr 0.1, 3 epochs, ...), so its command lines mean the same.
TRAIN_DEFAULTS = {
    # GluonCV options
    "model": None,
    "num_joints": None,             # None: from the dataset's keypoint schema
    "data_dir": os.path.join("~", ".mxnet", "datasets", "coco"),
    "batch_size": 32,               # per device
    "dtype": "float32",
    "num_gpus": 0,
    "num_data_workers": 4,
    "num_epochs": 3,
    "lr": 0.1,
    "wd": 1e-4,
    "lr_mode": "step",
    "lr_decay": 0.1,
    "lr_decay_period": 0,
    "lr_decay_epoch": "40,60",
    "warmup_epochs": 0,
    "mode": None,                   # 'hybrid' hybridizes (static_alloc, static_shape)
    "input_size": None,             # H,W; None: the model spec's (256,192 for simple_pose)
    "sigma": 2.0,
    "mean": None,                   # None: the model spec's (ImageNet's for GluonCV's nets)
    "std": None,
    "use_pretrained": False,
    "use_pretrained_base": False,
    "save_frequency": 1,
    "save_dir": "params",
    "log_interval": 20,
    "logging_file": "keypoints.log",
    # ours
    "split": "person_keypoints_train2017",
    "gpus": None,                   # '0,1' -> [gpu(0), gpu(1)]
    "ctx": None,                    # 'cpu:0,cpu:1' (several CPU contexts for testing)
    "kvstore": "device",
    "optimizer": "adam",
    "momentum": 0.9,                # sgd only
    "lr_mult": None,                # 'REGEX=W[:B];...' per-parameter lr multipliers; None: spec's
    "codec": "msra",
    "seed": 0,
    "scale_factor": 0.30,
    "rotation_factor": 40.0,
    "random_flip": True,
    "half_body_prob": 0.0,
    "max_samples": None,            # train on the first N instances only (smoke tests)
    "cache_images": False,          # keep decoded images in memory
    "resume": None,                 # a checkpoint path, or 'auto'
    "load_params": None,            # warm start from a .params file (weights only)
    "stop_after": None,             # stop (with a checkpoint) after N epochs of this run
    "output_dir": None,             # logs, curves; default save_dir
    "progress": True,
}

#: Defaults of ``gluonpose eval`` (GluonCV's ``validate.py`` where it has the option).
EVAL_DEFAULTS = {
    "model": None,
    "num_joints": None,
    "data_dir": os.path.join("~", ".mxnet", "datasets", "coco"),
    "batch_size": 32,
    "dtype": "float32",
    "num_gpus": 0,
    "num_data_workers": 4,
    "input_size": None,             # None: the model spec's
    "sigma": 2.0,                   # codec sigma (oracle encoding; unbiased decoding blur)
    "mean": None,                   # None: the model spec's
    "std": None,
    "params_file": None,
    "use_pretrained": False,
    "flip_test": False,
    "score_threshold": 0.0,
    "mode": None,
    # ours
    "split": "person_keypoints_val2017",
    "gpus": None,
    "ctx": None,
    "codec": "msra",
    "det_file": None,
    "det_score_thresh": 0.0,
    "oks_nms": None,
    "pose_nms": None,               # none | oks | soft-oks | parametric (None: by oks_nms)
    "oracle": False,
    "output_dir": ".",
    "save_prefix": "coco_keypoints",
    "max_samples": None,
    "progress": True,
    "verbose": False,               # print pycocotools' COCOeval table
}

#: GluonCV flags that GluonCV itself never reads; accepted, reported, ignored.
DEAD_FLAGS = {
    "warmup_lr": "--warmup-lr has no effect (GluonCV never reads it; warmup starts at 0)",
    "last_gamma": "--last-gamma has no effect (GluonCV never reads it)",
    "no_wd": "--no-wd has no effect (GluonCV never reads it)",
}

#: Options that change what a training run computes. Resuming with a different
#: value of one of these cannot reproduce the uninterrupted run.
RESULT_KEYS = ("model", "num_joints", "split", "batch_size", "dtype", "num_epochs", "lr", "wd",
               "lr_mode", "lr_decay", "lr_decay_period", "lr_decay_epoch", "warmup_epochs",
               "input_size", "sigma", "mean", "std", "use_pretrained", "use_pretrained_base",
               "optimizer", "momentum", "codec", "seed", "scale_factor", "rotation_factor",
               "random_flip", "half_body_prob", "max_samples", "load_params")

BUNDLED_ALIASES = ("mini", "bundled", "coco_mini")


def model_spec(name):
    """The spec of model ``name`` (the default top-down contract if it has none).

    Raises
    ------
    ValueError
        ``name`` is not registered (the zoo's message names close matches).
    """
    from ..model_zoo import get_model_spec
    from ..model_zoo.model_zoo import DEFAULT_SPEC
    return get_model_spec(name) or DEFAULT_SPEC


def require_top_down(spec, model=None, what="the evaluation engine"):
    """``ValueError`` (one line) unless ``spec`` is a top-down contract.

    Bottom-up models (OpenPose, ``spec.kind == 'bottom_up'``) are registered,
    build and train (``gluonpose train``), but evaluation's crops and decoding
    are top-down only.
    """
    kind = getattr(spec, "kind", "top_down")
    if kind != "top_down":
        raise ValueError("%s is a %s model: bottom-up models are not supported by %s yet "
                         "(top-down models: get_pose_model_list('top_down'))"
                         % ("--model %s" % model if model else "this network",
                            kind.replace("_", "-"), what))
    return spec


def apply_spec_defaults(cfg, spec, bottom_up=False):
    """Fill the options left at ``None`` from the model's spec, in place.

    ``input_size``, ``mean`` and ``std`` default to what the model was
    designed (and GluonCV published it) for, so ``--model alpha_pose_...``
    runs at 320x256 with AlphaPose's normalisation without more flags. The
    filled values are plain strings, as if given on the command line, so the
    checkpoint manifest records what the run used.

    Parameters
    ----------
    cfg : dict
    spec : TopDownSpec or BottomUpSpec
    bottom_up : bool, default False
        Whether the caller handles bottom-up specs (training does; evaluation
        does not yet).

    Raises
    ------
    ValueError
        For a bottom-up spec unless ``bottom_up`` (see :func:`require_top_down`).
    """
    if not bottom_up:
        require_top_down(spec, cfg.get("model"))
    if cfg.get("input_size") in (None, ""):
        cfg["input_size"] = "%d,%d" % spec.input_size
    if cfg.get("mean") in (None, ""):
        cfg["mean"] = ",".join("%g" % v for v in spec.mean)
    if cfg.get("std") in (None, ""):
        cfg["std"] = ",".join("%g" % v for v in spec.std)
    if "sigma" in cfg and cfg.get("sigma") in (None, "") and spec.sigma is not None:
        cfg["sigma"] = spec.sigma
    return cfg


def make_config(defaults, overrides=None, base=None):
    """A config dict: ``defaults`` <- ``base`` (e.g. a checkpoint's) <- ``overrides``.

    Parameters
    ----------
    defaults : dict
        :data:`TRAIN_DEFAULTS` or :data:`EVAL_DEFAULTS`.
    overrides : dict, optional
        Explicitly chosen values (the options given on the command line).
    base : dict, optional
        A stored configuration to start from.

    Returns
    -------
    dict
        A fresh dict with exactly the keys of ``defaults``.

    Raises
    ------
    ValueError
        An override names an unknown option.
    """
    cfg = copy.deepcopy(defaults)
    if base:
        cfg.update({k: copy.deepcopy(v) for k, v in base.items() if k in defaults})
    for key, value in (overrides or {}).items():
        if key not in defaults:
            raise ValueError("unknown option %r" % key)
        cfg[key] = value
    return cfg


# ----------------------------------------------------------------------------- parsing

def _split(text):
    if isinstance(text, (list, tuple)):
        return list(text)
    return [p for p in str(text).replace("x", ",").replace(" ", "").split(",") if p != ""]


def parse_size(text, name="--input-size", square=False):
    """``'256,192'`` / ``'256x192'`` / ``(256, 192)`` -> ``(256, 192)`` (H, W).

    With ``square``, one integer ``'368'`` also gives ``(368, 368)``.

    Raises
    ------
    ValueError
        Not two positive integers (or one, with ``square``).
    """
    parts = _split(text) if not isinstance(text, int) else [text]
    try:
        size = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        size = ()
    if square and len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) <= 0:
        raise ValueError("%s must be %s positive integers H,W such as 256,192; got %r"
                         % (name, "one (S) or two" if square else "two", text))
    return size


def parse_floats(text, count=None, name="value"):
    """Comma-separated floats (``'0.485,0.456,0.406'``), optionally exactly ``count``."""
    try:
        vals = [float(p) for p in _split(text)]
    except (TypeError, ValueError):
        raise ValueError("%s must be comma-separated numbers, got %r" % (name, text)) from None
    if count is not None and len(vals) != count:
        raise ValueError("%s needs %d numbers, got %r" % (name, count, text))
    return vals


def parse_lr_mult(text, name="--lr-mult"):
    """Learning-rate multiplier rules from ``'REGEX=W[:B];REGEX=W[:B]'``.

    Each rule gives the parameters whose structural name (``resnet.0.weight``,
    ``stage2.paf.0.bias``) matches ``REGEX`` (``re.search``) the multiplier
    ``W`` on weights and ``B`` on biases (``B`` defaults to ``W``); the first
    matching rule wins, parameters no rule matches keep 1. ``None`` or empty
    text gives no rules.

    Returns
    -------
    tuple of gluonpose.model_zoo.spec.LrMultRule
    """
    import re
    from ..model_zoo.spec import LrMultRule
    if text in (None, ""):
        return ()
    rules = []
    for part in str(text).split(";"):
        if not part.strip():
            continue
        pattern, sep, values = part.rpartition("=")
        try:
            if not sep or not pattern:
                raise ValueError
            nums = [float(v) for v in values.split(":")]
            if len(nums) not in (1, 2) or min(nums) < 0:
                raise ValueError
            rules.append(LrMultRule(pattern, nums[0], nums[-1]))
        except (ValueError, re.error):
            raise ValueError("%s: %r is not REGEX=WEIGHT[:BIAS] with a valid regular "
                             "expression and non-negative multipliers" % (name, part)) from None
    return tuple(rules)


def parse_ints(text, name="value"):
    """Comma-separated ints (``'40,60'``); empty text gives ``[]``."""
    if text is None:
        return []
    try:
        return [int(p) for p in _split(text)]
    except (TypeError, ValueError):
        raise ValueError("%s must be comma-separated integers, got %r" % (name, text)) from None


def parse_contexts(ctx=None, gpus=None, num_gpus=0):
    """The list of devices to run on.

    Priority: ``ctx`` (``'cpu:0,cpu:1'``, ``'gpu:0,gpu:1'``, ``'cpu*2'``), then
    ``gpus`` (``'0,1'``, GluonCV detection-script style), then ``num_gpus``
    (GluonCV pose scripts: ``gpu(0) .. gpu(n-1)``), else one CPU.

    Several CPU contexts are distinct MXNet devices that share the machine's
    cores; they exist to test multi-device code without GPUs.

    Returns
    -------
    list of mxnet.Context

    Raises
    ------
    ValueError
        Unparseable text, or GPUs requested where MXNet sees none.
    """
    if ctx:
        out = []
        for item in _split(str(ctx).replace("x", "X")):
            item = item.lower()
            if "*" in item:
                kind, _, count = item.partition("*")
                try:
                    n = int(count)
                except ValueError:
                    n = 0
                if kind not in ("cpu", "gpu") or n <= 0:
                    raise ValueError("--ctx item %r: expected cpu*N or gpu*N" % item)
                out.extend(mx.Context(kind, i) for i in range(n))
                continue
            kind, _, idx = item.partition(":")
            if kind not in ("cpu", "gpu"):
                raise ValueError("--ctx item %r: expected cpu:I or gpu:I" % item)
            try:
                out.append(mx.Context(kind, int(idx or 0)))
            except ValueError:
                raise ValueError("--ctx item %r: device index must be an integer" % item) \
                    from None
    elif gpus not in (None, ""):
        out = [mx.gpu(i) for i in parse_ints(gpus, "--gpus")]
    elif num_gpus and int(num_gpus) > 0:
        out = [mx.gpu(i) for i in range(int(num_gpus))]
    else:
        out = [mx.cpu()]
    if not out:
        raise ValueError("no device selected")
    if len(set(map(str, out))) != len(out):
        raise ValueError("a device is listed twice: %s" % ", ".join(map(str, out)))
    wanted = max((c.device_id for c in out if c.device_type == "gpu"), default=-1)
    if wanted >= 0:
        try:
            have = mx.context.num_gpus()
        except Exception:  # CPU builds may raise instead of returning 0
            have = 0
        if wanted >= have:
            raise ValueError("gpu(%d) requested but MXNet sees %d GPU(s); use --ctx cpu:0 "
                             "(or omit --num-gpus/--gpus) to run on the CPU" % (wanted, have))
    return out


def context_names(ctxs):
    """``['cpu(0)', 'cpu(1)']`` for records."""
    return [str(c) for c in ctxs]


def resolve_data(data_dir, split, default_split):
    """``(root, split)`` with the bundled-set alias and checks.

    ``--data-dir mini`` (or ``bundled``, or the bundled folder's path) selects
    the bundled mini COCO set; its only split is used unless another is named.

    Raises
    ------
    FileNotFoundError
        The folder or the split's annotation json does not exist.
    """
    from ..data.mini import MINI_COCO_SPLIT, mini_coco_root
    if data_dir is None or str(data_dir).lower() in BUNDLED_ALIASES:
        root = mini_coco_root()
        if split in (None, default_split):
            split = MINI_COCO_SPLIT
    else:
        root = os.path.abspath(os.path.expanduser(str(data_dir)))
        if os.path.realpath(root) == os.path.realpath(mini_coco_root()) \
                and split in (None, default_split):
            split = MINI_COCO_SPLIT
    if split is None:
        split = default_split
    if not os.path.isdir(root):
        raise FileNotFoundError("data directory not found: %s (use --data-dir DIR, or "
                                "--data-dir mini for the bundled set)" % root)
    ann = os.path.join(root, "annotations", split + ".json")
    if not os.path.isfile(ann):
        have = sorted(f[:-5] for f in os.listdir(os.path.join(root, "annotations"))
                      if f.endswith(".json")) \
            if os.path.isdir(os.path.join(root, "annotations")) else []
        raise FileNotFoundError("annotation file not found: %s%s" % (
            ann, " (splits there: %s)" % ", ".join(have) if have else ""))
    return root, split


def plain_number(value):
    """2.0 -> 2, so codec descriptions and Gaussian tables read as GluonCV's."""
    value = float(value)
    return int(value) if value.is_integer() else value
