"""COCO keypoint evaluation behind ``gluonpose eval`` and ``scripts/validate.py``.

GluonCV's ``validate.py`` flow -- crop every person box with the validation
transform, run the network on every device, optionally add the flipped
input's heatmaps back (``shift=True``, GluonCV's flip test), decode, score with
``COCOeval`` -- with: detector boxes as well as ground-truth boxes, either
heatmap codec, and a protocol record next to every results json so each AP
says how it was obtained. ``oracle=True`` evaluates perfect heatmaps instead
of a network (the ceiling of a codec and input size).

Bottom-up models (``spec.kind == 'bottom_up'``, OpenPose) are evaluated on
whole images without boxes by :mod:`gluonpose.engine.evaluate_bottom_up`;
:func:`evaluate` hands them over.
"""
import contextlib
import io
import os
from collections import OrderedDict

import mxnet as mx
import numpy as np
from mxnet import gluon

from ..utils.atomic import write_json
from .config import (EVAL_DEFAULTS, apply_spec_defaults, model_spec, parse_contexts,
                     parse_floats, parse_size, plain_number, resolve_data)
from .data import SubsetDataset

__all__ = ["evaluate", "EvalResult", "predict_dataset"]


class EvalResult:
    """The outcome of :func:`evaluate`.

    Attributes
    ----------
    ap : float
    stats : OrderedDict
        The ten COCOeval numbers (GluonCV's names).
    summary : str
        One line: the numbers and the protocol.
    results_file, protocol_file : str
        The COCO results json and its protocol record.
    protocol : dict
    preds : tuple or None
        ``(coords (N,J,2), maxvals (N,J,1), image_ids (N,), boxes (N,4))`` of the
        network evaluation (``None`` for the oracle).
    """

    def __init__(self, ap, stats, summary, results_file, protocol_file, protocol, preds=None):
        self.ap = ap
        self.stats = stats
        self.summary = summary
        self.results_file = results_file
        self.protocol_file = protocol_file
        self.protocol = protocol
        self.preds = preds

    def __repr__(self):
        return "EvalResult(%s)" % self.summary


def _weights(cfg, model):
    """(path, sha1) of the weights to evaluate; downloads pretrained weights if asked."""
    from ..model_zoo.model_store import file_sha1, get_model_file
    path = cfg.get("params_file")
    if path:
        path = os.path.abspath(os.path.expanduser(path))
        if path.endswith(".ckpt.json"):
            path = path[:-len(".ckpt.json")] + ".params"
        if not os.path.isfile(path):
            raise FileNotFoundError("--params-file not found: %s" % path)
    else:
        # GluonCV's validate.py evaluates the published weights when no file is given
        tag = cfg["use_pretrained"] if isinstance(cfg.get("use_pretrained"), str) else None
        path = get_model_file(model, tag=tag)
    return path, file_sha1(path)


def _dataset(cfg, root, split):
    from ..data.mscoco import COCODetectionKeyPoints, COCOKeyPoints
    if cfg.get("det_file"):
        det = os.path.abspath(os.path.expanduser(cfg["det_file"]))
        ds = COCODetectionKeyPoints(root, split, det_file=det,
                                    score_thresh=float(cfg["det_score_thresh"] or 0),
                                    image_format="numpy")
    else:
        ds = COCOKeyPoints(root, split, image_format="numpy")
    if cfg.get("max_samples"):
        ds = SubsetDataset(ds, int(cfg["max_samples"]))
    if len(ds) == 0:
        raise ValueError("%s/%s gives no person box to evaluate" % (root, split))
    return ds


def _val_batchify(items):
    """Stack ``(img, scale, center, score, img_id)`` items: images as NDArray, rest numpy."""
    imgs, scales, centers, scores, ids = zip(*items)
    return (mx.nd.stack(*imgs), np.stack(scales).astype(np.float32),
            np.stack(centers).astype(np.float32), np.asarray(scores, np.float32),
            np.asarray(ids, np.int64))


def predict_dataset(net, dataset, ctxs, image_size, mean, std, codec, flip_test=False,
                    flip_index=None, batch_size=32, num_workers=0, dtype="float32",
                    progress=True, desc="eval", spec=None):
    """Run a top-down network over every box of a keypoint dataset.

    Parameters
    ----------
    net : HybridBlock
        Initialised on ``ctxs``.
    dataset : Dataset
        Items ``(img, label, img_id)`` with ``label['bbox']`` (and ``'score'``).
    ctxs : list of Context
    image_size : tuple of int
        ``(H, W)``.
    mean, std : sequence of float
    codec : HeatmapCodec
        Decodes heatmaps to image coordinates.
    flip_test : bool
        Average with the flipped input's heatmaps (GluonCV's shift semantics).
    flip_index : array-like
        The schema's flip permutation (needed with ``flip_test``).
    batch_size : int
        Per device.
    num_workers : int
    dtype : str
    progress : bool
        Show a tqdm bar.
    desc : str
        Label of the progress bar.
    spec : TopDownSpec, optional
        Which output of the network to decode (default: the network's own
        spec, see :func:`gluonpose.model_zoo.spec_of`).

    Returns
    -------
    coords, maxvals, scores, image_ids, centers, scales : numpy.ndarray
    """
    from ..model_zoo import spec_of
    spec = spec or spec_of(net)
    from tqdm import tqdm
    from ..codecs import flip_merge
    from ..data.transforms.presets.top_down import TopDownValTransform
    transform = TopDownValTransform(None, None, image_size=image_size, mean=mean,
                                              std=std)
    loader = gluon.data.DataLoader(dataset.transform(transform, lazy=True),
                                   batch_size=batch_size * len(ctxs), shuffle=False,
                                   last_batch="keep", num_workers=num_workers,
                                   batchify_fn=_val_batchify)
    out = {k: [] for k in ("coords", "maxvals", "scores", "ids", "centers", "scales")}
    for data, scale, center, score, img_id in tqdm(loader, desc=desc, unit="batch",
                                                   disable=not progress, leave=False,
                                                   dynamic_ncols=True):
        parts = gluon.utils.split_and_load(data, ctxs, batch_axis=0, even_split=False)
        heat = []
        for x in parts:
            x = x.astype(dtype, copy=False)
            hm = spec.decoded(net(x))
            if flip_test:
                hm = flip_merge(hm, spec.decoded(net(mx.nd.flip(x, axis=3))), flip_index,
                                shift=spec.flip_shift)
            heat.append(hm.astype("float32").as_in_context(mx.cpu()))
        heat = mx.nd.concat(*heat, dim=0) if len(heat) > 1 else heat[0]
        coords, maxvals = codec.decode(heat, center, scale)
        out["coords"].append(coords)
        out["maxvals"].append(maxvals)
        out["scores"].append(score)
        out["ids"].append(img_id)
        out["centers"].append(center)
        out["scales"].append(scale)
    return tuple(np.concatenate(out[k]) for k in
                 ("coords", "maxvals", "scores", "ids", "centers", "scales"))


def _protocol(cfg, split, codec, image_size, model=None, weights=None, sha1=None):
    p = OrderedDict()
    p["boxes"] = "det" if cfg.get("det_file") else "gt"
    if cfg.get("det_file"):
        p["det_file"] = os.path.basename(cfg["det_file"])
    p["flip"] = bool(cfg.get("flip_test"))
    p["codec"] = codec.describe()
    p["input_size"] = list(image_size)
    p["split"] = split
    if model is not None:
        p["model"] = model
        p["weights"] = os.path.basename(weights)
        p["weights_sha1"] = sha1
    return p


def evaluate(cfg, net=None, echo=print):
    """COCO keypoint AP of a model (or of the codec oracle) on a keypoint split.

    A bottom-up model goes to
    :func:`~gluonpose.engine.evaluate_bottom_up.evaluate_bottom_up` (whole
    images, no boxes, ``cfg['scales']``).

    Parameters
    ----------
    cfg : dict
        A configuration from :func:`gluonpose.engine.config.make_config` with
        :data:`~gluonpose.engine.config.EVAL_DEFAULTS`.
    net : HybridBlock, optional
        Evaluate this (initialised) network instead of building ``cfg['model']``
        and loading weights; ``cfg['params_file']`` then only labels the record.
    echo : callable
        Receives the AP line(s).

    Returns
    -------
    EvalResult
    """
    from ..codecs import get_codec
    from ..model_zoo import spec_of
    from ..utils.metrics import COCOKeyPointsMetric
    cfg = dict(cfg)
    model = cfg.get("model")
    if net is not None:
        spec = spec_of(net, model)
    else:
        from ..model_zoo.model_zoo import DEFAULT_SPEC
        # no model (the codec oracle): the plain stride-4 top-down contract
        spec = model_spec(model) if model else DEFAULT_SPEC
    if getattr(spec, "kind", "top_down") == "bottom_up":
        # whole images, no boxes: gluonpose.engine.evaluate_bottom_up
        from .evaluate_bottom_up import evaluate_bottom_up
        return evaluate_bottom_up(cfg, net=net, spec=spec, echo=echo)
    apply_spec_defaults(cfg, spec)
    image_size = parse_size(cfg["input_size"])
    root, split = resolve_data(cfg["data_dir"], cfg["split"], EVAL_DEFAULTS["split"])
    split_name = "%s/%s" % (os.path.basename(os.path.normpath(root)), split)
    out_dir = os.path.abspath(os.path.expanduser(cfg.get("output_dir") or "."))
    os.makedirs(out_dir, exist_ok=True)
    prefix = os.path.join(out_dir, cfg.get("save_prefix") or "coco_keypoints")
    heatmap_size = spec.heatmap_size(image_size) if not cfg.get("oracle") else None
    codec = get_codec(cfg["codec"], image_size=image_size, heatmap_size=heatmap_size,
                      sigma=spec.decode_sigma(plain_number(cfg["sigma"])))

    if cfg.get("oracle"):
        return _oracle(cfg, root, split, split_name, codec, image_size, prefix, echo)

    ctxs = parse_contexts(cfg.get("ctx"), cfg.get("gpus"), cfg.get("num_gpus"))
    mean = parse_floats(cfg["mean"], 3, "--mean")
    std = parse_floats(cfg["std"], 3, "--std")
    dataset = _dataset(cfg, root, split)
    schema = dataset.schema
    if cfg.get("num_joints") and int(cfg["num_joints"]) != schema.num_joints:
        raise ValueError("--num-joints %s, but the dataset has %d joints"
                         % (cfg["num_joints"], schema.num_joints))
    if net is None:
        if not model:
            raise ValueError("--model is required, e.g. --model simple_pose_resnet18_v1b")
        from ..model_zoo import get_model
        net = get_model(model, num_joints=schema.num_joints)
        weights, sha1 = _weights(cfg, model)
        net.load_parameters(weights, ctx=ctxs, cast_dtype=cfg["dtype"] != "float32")
        if cfg["dtype"] != "float32":
            net.cast(cfg["dtype"])
        net.hybridize(static_alloc=cfg.get("mode") == "hybrid")
    else:
        weights = cfg.get("params_file") or "<in-memory network>"
        from ..model_zoo.model_store import file_sha1
        sha1 = file_sha1(weights) if os.path.isfile(weights) else None
        model = model or type(net).__name__

    metric = COCOKeyPointsMetric(
        dataset, prefix, in_vis_thresh=float(cfg["score_threshold"]),
        data_shape=tuple(image_size), oks_nms=cfg.get("oks_nms"), schema=schema,
        pose_nms=cfg.get("pose_nms"),
        protocol=_protocol(cfg, split_name, codec, image_size, model, weights, sha1))
    coords, maxvals, scores, ids, centers, scales = predict_dataset(
        net, dataset, ctxs, image_size, mean, std, codec, flip_test=bool(cfg.get("flip_test")),
        flip_index=schema.flip_index, batch_size=int(cfg["batch_size"]),
        num_workers=int(cfg["num_data_workers"]), dtype=cfg["dtype"],
        progress=bool(cfg.get("progress", True)), spec=spec)
    # crop-box area for OKS-NMS (the unscaled box: scale / 1.25)
    area = np.prod(scales.astype(np.float64) / 1.25, axis=1)
    # the person boxes (GT or detector) size parametric pose NMS's radii, as in AlphaPose
    person_boxes = np.array([r["bbox"] for r in dataset.records], np.float64).reshape(-1, 4) \
        if hasattr(dataset, "records") and len(dataset.records) == len(area) else None
    metric.update(coords, maxvals, scores, ids, area=area, boxes=person_boxes)
    quiet = contextlib.nullcontext() if cfg.get("verbose") else \
        contextlib.redirect_stdout(io.StringIO())
    with quiet:
        stats, ap = metric.get()
    summary = metric.summary()
    echo(summary)
    boxes = [dataset.records[i]["bbox"] for i in range(len(dataset))] \
        if hasattr(dataset, "records") else None
    return EvalResult(ap, stats, summary, metric.results_file, metric.protocol_file,
                      dict(metric.protocol), preds=(coords, maxvals, ids, boxes))


def _oracle(cfg, root, split, split_name, codec, image_size, prefix, echo):
    """AP of ground truth encoded and decoded by the codec (no network)."""
    from ..utils.oracle import oracle_ap
    from ..data.mscoco import COCOKeyPoints
    if cfg.get("det_file"):
        raise ValueError("--oracle scores ground-truth joints in ground-truth boxes; it does "
                         "not combine with --det-file")
    if cfg.get("flip_test"):
        raise ValueError("--oracle has no network output to flip; drop --flip-test")
    dataset = COCOKeyPoints(root, split, image_format="numpy")
    results_file = prefix + "_oracle.json"
    res = oracle_ap(dataset, codec, split=split_name, in_vis_thresh=float(cfg["score_threshold"]),
                    results_file=results_file, verbose=bool(cfg.get("verbose")))
    protocol_file = prefix + "_oracle.protocol.json"
    record = OrderedDict([("protocol", dict(res.protocol)),
                          ("results_file", os.path.basename(results_file)),
                          ("stats", dict(res.stats)), ("summary", res.summary())])
    write_json(protocol_file, record, indent=1)
    echo(res.summary())
    return EvalResult(res.ap, res.stats, res.summary(), results_file, protocol_file,
                      dict(res.protocol))
