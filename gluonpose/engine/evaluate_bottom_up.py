"""COCO keypoint AP of a bottom-up (OpenPose) model: whole images, no boxes.

``gluonpose eval --model openpose_...`` lands here (:func:`gluonpose.engine.evaluate.evaluate`
routes every ``spec.kind == 'bottom_up'`` model to :func:`evaluate_bottom_up`).

Protocol: every image of the annotation file whose file exists (sorted COCO
image ids; ``max_samples`` keeps the first N), people or not, goes through
:func:`gluonpose.engine.bottom_up_forward.predict_bottom_up` (test scales, optional
flip, the spec's PAF codec). Each person found becomes one COCO keypoint
result: ``category_id`` the person category, ``keypoints`` the COCO-17 ``x, y``
(image pixels, no half-pixel offset, zeros for parts not found) and peak
score, ``score`` the codec's person score. ``COCOeval('keypoints')`` scores
them over exactly the evaluated image ids. The results json and its protocol
record (the top-down record's layout, ``protocol`` saying ``bottom-up``,
``boxes: none``, scales, flip, input size, codec, split, model, weights) are
written atomically.
"""
import contextlib
import datetime
import io
import os
from collections import OrderedDict

import numpy as np

from ..model_zoo.model_store import file_sha1
from ..utils.atomic import write_json
from .config import EVAL_DEFAULTS, parse_contexts, parse_floats, resolve_data

__all__ = ["evaluate_bottom_up", "predict_images", "bottom_up_protocol", "score_results"]


def _refuse(cfg, spec):
    """One-line errors for the top-down-only options."""
    if cfg.get("oracle"):
        raise ValueError("--oracle scores top-down codecs; for the PAF codec's ceiling run "
                         "tools/paf_oracle_ap.py")
    if cfg.get("det_file"):
        raise ValueError("--det-file: a bottom-up model finds people without boxes")
    if cfg.get("oks_nms") or cfg.get("pose_nms") not in (None, "none"):
        raise ValueError("--oks-nms / --pose-nms: a bottom-up model's grouping makes each "
                         "person once; pose NMS does not apply")
    if cfg.get("codec") not in (None, "msra", spec.grouping):
        raise ValueError("--codec %s: a bottom-up model decodes with its own %s codec"
                         % (cfg["codec"], spec.grouping))
    if cfg.get("num_joints") and int(cfg["num_joints"]) != 17:
        raise ValueError("--num-joints %s: a bottom-up model's results are COCO-17"
                         % cfg["num_joints"])


def _dataset(root, split, max_samples=None, labelled_only=False):
    from ..data.mscoco.bottom_up import COCOBottomUp
    from .data import SubsetDataset
    # every image of the split, or (labelled_only) those with a person who has a labelled
    # keypoint: the images an Associative Embedding model trains on
    ds = COCOBottomUp(root, split, min_keypoints=1, min_area=0, mask_dropped=False,
                      skip_empty=bool(labelled_only), image_format="numpy")
    if len(ds) == 0:
        raise ValueError("%s/%s gives no image to evaluate" % (root, split))
    if max_samples:
        ds = SubsetDataset(ds, int(max_samples))
    return ds


def _records(dataset):
    """``(image_id, path)`` of every item, without decoding images."""
    records = dataset.records
    return [(int(records[i]["image_id"]), dataset.image_path(i)) for i in range(len(dataset))]


def predict_images(net, spec, dataset, ctx, scales=None, flip=False, codec=None,
                   input_size=None, mean=None, std=None, dtype="float32", progress=True):
    """Run :func:`predict_bottom_up` on every image of a :class:`COCOBottomUp`.

    Returns
    -------
    keypoints : numpy.ndarray
        float32 ``(N, 17, 3)`` of all people found.
    scores : numpy.ndarray
        float32 ``(N,)`` person scores.
    image_ids : numpy.ndarray
        int64 ``(N,)``.
    evaluated : list of int
        The image ids run (people found or not).
    """
    from tqdm import tqdm
    from ..data.mscoco.keypoints import decode_image
    from .bottom_up_forward import predict_bottom_up
    kps, scs, ids, evaluated = [], [], [], []
    for img_id, path in tqdm(_records(dataset), desc="eval", unit="image",
                             disable=not progress, leave=False, dynamic_ncols=True):
        image = decode_image(path, "numpy")
        kp, sc = predict_bottom_up(net, spec, image, scales=scales, flip=flip, codec=codec,
                                   ctx=ctx, input_size=input_size, mean=mean, std=std,
                                   dtype=dtype)
        kps.append(kp.reshape(-1, 17, 3))
        scs.append(np.asarray(sc, np.float32).reshape(-1))
        ids.append(np.full(len(sc), img_id, np.int64))
        evaluated.append(img_id)
    if not kps:
        return (np.zeros((0, 17, 3), np.float32), np.zeros(0, np.float32),
                np.zeros(0, np.int64), evaluated)
    return np.concatenate(kps), np.concatenate(scs), np.concatenate(ids), evaluated


def bottom_up_protocol(split, codec, input_size, scales, flip, model=None, weights=None,
                       sha1=None, num_images=None, labelled_only=False):
    """The protocol dict of a bottom-up evaluation (the top-down record's keys where shared)."""
    p = OrderedDict()
    p["method"] = "bottom-up"
    p["boxes"] = "none"
    p["flip"] = bool(flip)
    p["scales"] = [float(s) for s in scales]
    p["codec"] = codec.describe()
    p["input_size"] = int(input_size)          # the image height at scale 1
    p["split"] = split + (" (images with a labelled person)" if labelled_only else "")
    if num_images is not None:
        p["images"] = int(num_images)
    if model is not None:
        p["model"] = model
        p["weights"] = os.path.basename(weights) if weights else weights
        p["weights_sha1"] = sha1
    return p


def _category_id(coco):
    cats = coco.loadCats(coco.getCatIds()) if coco.dataset.get("categories") else []
    if not cats:
        return 1
    chosen = next((c for c in cats if c.get("name") == "person"), cats[0])
    return int(chosen["id"])


def score_results(coco, results, image_ids, verbose=False):
    """COCOeval keypoint stats (10 numbers) of ``results`` over ``image_ids``."""
    from pycocotools.cocoeval import COCOeval
    from ..data.schema import COCO_PERSON
    if not results:
        return np.zeros(10)
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with quiet:
        dets = coco.loadRes(results)
        ev = COCOeval(coco, dets, "keypoints")
        ev.params.useSegm = None
        ev.params.kpt_oks_sigmas = COCO_PERSON.sigmas.copy()
        ev.params.imgIds = sorted(int(i) for i in image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats, np.float64)


def evaluate_bottom_up(cfg, net=None, spec=None, echo=print):
    """COCO keypoint AP of a bottom-up model on a keypoint split (see the module notes).

    Parameters
    ----------
    cfg : dict
        An :data:`~gluonpose.engine.config.EVAL_DEFAULTS` configuration; also
        read: ``scales`` (comma-separated or a sequence; default the spec's
        ``test_scales``). ``input_size`` is the image height at scale 1
        (``'368'``, or ``'H,W'`` whose H is used; default the spec's).
    net : Block, optional
        An initialised network (default: build ``cfg['model']`` and load weights).
    spec : BottomUpSpec, optional
        Default ``spec_of(net)`` / the model's.
    echo : callable

    Returns
    -------
    EvalResult
        ``preds`` is ``(keypoints (N,17,3), scores (N,), image_ids (N,), evaluated ids)``.
    """
    from .bottom_up_forward import input_height, parse_scales
    from ..model_zoo import spec_of
    from ..utils.metrics.coco_keypoints import STAT_NAMES, _SHORT_NAMES, _format_protocol
    from .evaluate import EvalResult, _weights
    cfg = dict(cfg)
    model = cfg.get("model")
    if spec is None:
        spec = spec_of(net, model) if net is not None else spec_of(model, model)
    if getattr(spec, "kind", None) != "bottom_up":
        raise ValueError("evaluate_bottom_up needs a bottom-up model")
    _refuse(cfg, spec)
    height = input_height(cfg.get("input_size"), spec)
    scales = parse_scales(cfg.get("scales"), spec)
    flip = bool(cfg.get("flip_test"))
    if flip and not spec.has_flip:
        raise ValueError("--flip-test: %s has no flip permutations" % spec.family)
    mean = parse_floats(cfg["mean"], 3, "--mean") if cfg.get("mean") else spec.mean
    std = parse_floats(cfg["std"], 3, "--std") if cfg.get("std") else spec.std
    root, split = resolve_data(cfg["data_dir"], cfg["split"], EVAL_DEFAULTS["split"])
    split_name = "%s/%s" % (os.path.basename(os.path.normpath(root)), split)
    out_dir = os.path.abspath(os.path.expanduser(cfg.get("output_dir") or "."))
    os.makedirs(out_dir, exist_ok=True)
    prefix = os.path.join(out_dir, cfg.get("save_prefix") or "coco_keypoints")
    ctxs = parse_contexts(cfg.get("ctx"), cfg.get("gpus"), cfg.get("num_gpus"))
    ctx = ctxs[0]                               # one image at a time, on the first device
    dtype = cfg.get("dtype") or "float32"
    codec = spec.make_codec()
    dataset = _dataset(root, split, cfg.get("max_samples"), cfg.get("labelled_only"))
    if net is None:
        if not model:
            raise ValueError("--model is required, e.g. --model openpose_mobilenet_light_coco")
        from ..model_zoo import get_model
        net = get_model(model)
        weights, sha1 = _weights(cfg, model)
        net.load_parameters(weights, ctx=ctx, cast_dtype=dtype != "float32")
        if dtype != "float32":
            net.cast(dtype)
        net.hybridize(static_alloc=cfg.get("mode") == "hybrid")
    else:
        weights = cfg.get("params_file") or "<in-memory network>"
        sha1 = file_sha1(weights) if os.path.isfile(weights) else None
        model = model or type(net).__name__

    kps, scores, ids, evaluated = predict_images(
        net, spec, dataset, ctx, scales=scales, flip=flip, codec=codec, input_size=height,
        mean=mean, std=std, dtype=dtype, progress=bool(cfg.get("progress", True)))
    coco = dataset.coco
    category = _category_id(coco)
    results = [{"image_id": int(i), "category_id": category,
                "keypoints": [float(v) for v in kp.reshape(-1)], "score": float(s)}
               for kp, s, i in zip(kps, scores, ids)]
    protocol = bottom_up_protocol(split_name, codec, height, scales, flip, model, weights, sha1,
                                  num_images=len(evaluated),
                                  labelled_only=bool(cfg.get("labelled_only")))
    stamp = datetime.datetime.now().strftime("_%Y_%m_%d_%H_%M_%S")
    results_file = os.path.abspath(prefix + stamp + ".json")
    protocol_file = os.path.splitext(results_file)[0] + ".protocol.json"
    write_json(results_file, results)
    if not results:
        echo("warning: no person found in %d image(s); reporting AP = 0" % len(evaluated))
    stats = score_results(coco, results, evaluated, verbose=bool(cfg.get("verbose")))
    from ..data.schema import COCO_PERSON
    record = OrderedDict([
        ("protocol", dict(protocol)),
        ("results_file", os.path.basename(results_file)),
        ("results_sha1", file_sha1(results_file)),
        ("num_results", len(results)),
        ("num_images_with_results", len({r["image_id"] for r in results})),
        ("num_gt_images", len(evaluated)),
        ("in_vis_thresh", None),
        ("pose_nms", "none"),
        ("oks_nms", None),
        ("schema", COCO_PERSON.name),
        ("kpt_oks_sigmas", COCO_PERSON.sigmas.tolist()),
        ("stats", OrderedDict(zip(STAT_NAMES, [float(s) for s in stats]))),
    ])
    write_json(protocol_file, record)
    values = OrderedDict((n, float(v)) for n, v in zip(STAT_NAMES, stats))
    summary = "%s [%s]" % (" ".join("%s %.3f" % (n, v) for n, v in zip(_SHORT_NAMES, stats)),
                           _format_protocol(protocol))
    echo(summary)
    return EvalResult(values["AP"], values, summary, results_file, protocol_file,
                      dict(protocol), preds=(kps, scores, ids, evaluated))
