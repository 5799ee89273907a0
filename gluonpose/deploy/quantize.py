"""Post-training INT8 quantisation on the CPU (MXNet's oneDNN path).

:func:`quantize` runs ``mxnet.contrib.quantization.quantize_net`` on an FP32
pose network, calibrated on person crops of a keypoint dataset (by default
the bundled mini COCO set, ground-truth boxes, the validation transform), and
returns a ``gluon.SymbolBlock`` whose convolutions, batch norms, activations
and pooling run in INT8 with oneDNN kernels.

What stays FP32: MXNet 1.9 has no quantized ``Deconvolution``, so the three
transposed convolutions of the Simple Baselines head run in FP32 between a
dequantize and a quantize node (:func:`quantization_summary` lists it for a
given network); they are about 40 % of the FP32 network's work at 256x192,
which bounds the INT8 speed-up.

Calibration modes: ``'naive'`` takes each layer's min/max over the
calibration crops as the INT8 range; ``'entropy'`` picks the range that
minimises the KL divergence between the FP32 and the quantized distribution
(slower to calibrate, more robust to outliers).

:func:`pck_agreement` measures how far INT8 keypoints move from FP32 ones
(PCK between the two outputs), and :func:`int8_report` gives that plus the
COCO AP of both networks on a keypoint split.
"""
import contextlib
import io
import os
import tempfile
import warnings
from collections import OrderedDict

import mxnet as mx
import numpy as np

__all__ = ["calibration_crops", "quantize", "quantization_summary", "pck_agreement",
           "int8_report", "CALIB_MODES"]

CALIB_MODES = ("naive", "entropy")


def calibration_crops(image_size, dataset=None, num_examples=None, mean=(0.485, 0.456, 0.406),
                      std=(0.229, 0.224, 0.225)):
    """Normalised person crops for calibration, as the network sees them at inference.

    Parameters
    ----------
    image_size : tuple of int
        ``(H, W)`` network input.
    dataset : Dataset, optional
        Items ``(img, label, img_id)`` with ``label['bbox']``; default the
        bundled mini COCO set (86 people).
    num_examples : int, optional
        Use the first N boxes (default all).
    mean, std : sequence of float

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 3, H, W)``.
    """
    from ..data.transforms.presets.simple_pose import SimplePoseDefaultValTransform
    if dataset is None:
        from ..data import mini_coco
        dataset = mini_coco(image_format="numpy")
    n = len(dataset) if num_examples is None else min(int(num_examples), len(dataset))
    if n <= 0:
        raise ValueError("calibration needs at least one person box")
    transform = SimplePoseDefaultValTransform(None, None, image_size=image_size, mean=mean,
                                              std=std)
    crops = np.empty((n, 3) + tuple(image_size), dtype=np.float32)
    for i in range(n):
        img, label, img_id = dataset[i]
        crops[i] = transform(img, label, img_id)[0].asnumpy()
    return crops


def quantize(net, image_size, calib_mode="naive", calib_data=None, num_calib_examples=None,
             batch_size=16, quantized_dtype="auto", exclude_layers_match=None, logger=None):
    """INT8 copy of an FP32 network (CPU, oneDNN).

    Parameters
    ----------
    net : mxnet.gluon.HybridBlock
        Initialised FP32 network on the CPU. It is hybridized (the calibration
        graph is exported from it); its weights are not changed.
    image_size : tuple of int
        ``(H, W)``.
    calib_mode : {'naive', 'entropy'}
        How layer ranges are chosen from the calibration crops (see module doc).
    calib_data : numpy.ndarray, optional
        ``(N, 3, H, W)`` normalised crops; default :func:`calibration_crops` of
        the bundled mini set.
    num_calib_examples : int, optional
        Use at most this many crops (default all).
    batch_size : int
        Calibration batch.
    quantized_dtype : {'auto', 'int8', 'uint8'}
        INT8 data type of the activations (``auto``: ``uint8`` after ReLU).
    exclude_layers_match : list of str, optional
        Keep layers whose name contains one of these in FP32.
    logger : logging.Logger, optional

    Returns
    -------
    mxnet.gluon.SymbolBlock
        The quantized network (input ``data``), not yet hybridized.
    """
    from mxnet.contrib import quantization
    if calib_mode not in CALIB_MODES:
        raise ValueError("calib_mode must be one of %s, got %r" % (", ".join(CALIB_MODES),
                                                                    calib_mode))
    if quantized_dtype not in ("auto", "int8", "uint8"):
        raise ValueError("quantized_dtype must be auto, int8 or uint8, got %r"
                         % (quantized_dtype,))
    if calib_data is None:
        calib_data = calibration_crops(image_size, num_examples=num_calib_examples)
    calib_data = np.asarray(calib_data, dtype=np.float32)
    if num_calib_examples is not None:
        calib_data = calib_data[:int(num_calib_examples)]
    if calib_data.ndim != 4 or calib_data.shape[1:] != (3,) + tuple(image_size):
        raise ValueError("calibration data must be (N, 3, %d, %d), got %s"
                         % (image_size[0], image_size[1], calib_data.shape))
    batch = max(1, min(int(batch_size), len(calib_data)))
    # whole batches only: the calibration iterator pads a short last batch with repeats
    usable = len(calib_data) - len(calib_data) % batch
    it = mx.io.NDArrayIter(mx.nd.array(calib_data[:usable]), batch_size=batch,
                           data_name="data")
    net.hybridize()
    with warnings.catch_warnings():
        # quantize_net warns that it is deprecated after MXNet 2.0 and that the input
        # type of the temporary SymbolBlock is unknown; neither is actionable here
        warnings.simplefilter("ignore")
        qnet = quantization.quantize_net(
            net, quantized_dtype=quantized_dtype, exclude_layers_match=exclude_layers_match,
            calib_data=it, calib_mode=calib_mode, num_calib_examples=usable, ctx=mx.cpu(),
            logger=logger)
    return qnet


def quantization_summary(qnet):
    """Which operators of a quantized network run in INT8 and which in FP32.

    Returns
    -------
    dict
        ``{'int8': {op: count}, 'fp32': {op: count}}``: compute operators only
        (quantize/dequantize/requantize conversions are not counted). A fused
        oneDNN convolution counts as INT8 when its ``quantized`` attribute is set.
    """
    import json
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "q")
        qnet.export(prefix)
        with open(prefix + "-symbol.json", encoding="utf-8") as f:
            nodes = json.load(f)["nodes"]
    conversions = ("_contrib_quantize", "_contrib_quantize_v2", "_contrib_dequantize",
                   "_contrib_requantize")
    out = {"int8": {}, "fp32": {}}
    for node in nodes:
        op = node["op"]
        if op == "null" or op in conversions:
            continue
        attrs = node.get("attrs", {})
        int8 = op.startswith("_contrib_quantized") or str(attrs.get("quantized", "")).lower() \
            == "true"
        side = out["int8" if int8 else "fp32"]
        side[op] = side.get(op, 0) + 1
    return out


def pck_agreement(coords_a, coords_b, boxes, threshold=0.05, mask=None):
    """PCK of one set of keypoints measured against another (e.g. INT8 vs FP32).

    A joint agrees when the two predictions lie within ``threshold`` times the
    person size: ``||a - b|| <= threshold * max(box_w, box_h)``, with the box
    the person box the crop was made from (``(xmin, ymin, xmax, ymax)``, width
    ``xmax - xmin``). At 0.05 that is 5 px for a 100 px tall person.

    Parameters
    ----------
    coords_a, coords_b : array-like
        ``(N, J, 2)`` image coordinates.
    boxes : array-like
        ``(N, 4)`` person boxes.
    threshold : float
        Fraction of the box's longer side.
    mask : array-like, optional
        ``(N, J)`` booleans: only these joints count (e.g. the labelled ones).

    Returns
    -------
    float
        Fraction of the counted joints that agree (``nan`` if none counted).
    """
    a = np.asarray(coords_a, dtype=np.float64)
    b = np.asarray(coords_b, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if a.shape != b.shape or a.ndim != 3 or len(boxes) != len(a):
        raise ValueError("coords must both be (N, J, 2) with N boxes; got %s, %s and %d boxes"
                         % (a.shape, b.shape, len(boxes)))
    size = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    ok = np.linalg.norm(a - b, axis=2) <= threshold * size[:, None]
    keep = np.ones(ok.shape, bool) if mask is None else np.asarray(mask, bool)
    return float(ok[keep].mean()) if keep.any() else float("nan")


def _evaluate(net, image_size, codec, sigma, data_dir, split, out_dir, name, progress,
              max_samples):
    from ..engine.config import EVAL_DEFAULTS, make_config
    from ..engine.evaluate import evaluate
    cfg = make_config(EVAL_DEFAULTS, {
        "input_size": "%d,%d" % tuple(image_size), "codec": codec, "sigma": sigma,
        "data_dir": data_dir, "split": split, "output_dir": out_dir, "save_prefix": name,
        "ctx": "cpu:0", "progress": progress, "flip_test": False, "max_samples": max_samples})
    with contextlib.redirect_stdout(io.StringIO()):
        return evaluate(cfg, net=net, echo=lambda s: None)


def int8_report(net, qnet, image_size, codec="unbiased", sigma=2, data_dir="mini",
                split=None, threshold=0.05, max_samples=None, progress=False):
    """COCO AP of the FP32 and INT8 networks and their keypoint agreement.

    Both networks see the same crops (ground-truth boxes, no flip test) of the
    keypoint split (default the bundled mini set), or of its first
    ``max_samples`` people.

    Returns
    -------
    collections.OrderedDict
        ``ap_fp32``, ``ap_int8``, ``pck_all`` (PCK@threshold of INT8 against
        FP32 over every joint), ``pck_labelled`` (over the joints that have a
        ground-truth label), ``threshold``, ``num_people``, and the arrays
        behind them: ``coords_fp32``, ``coords_int8`` ``(N, J, 2)``, ``boxes``
        ``(N, 4)``, ``labelled`` ``(N, J)``.
    """
    from ..engine.config import EVAL_DEFAULTS
    split = split or EVAL_DEFAULTS["split"]
    with tempfile.TemporaryDirectory(prefix="gluonpose-int8-") as tmp:
        fp = _evaluate(net, image_size, codec, sigma, data_dir, split, tmp, "fp32", progress,
                       max_samples)
        q8 = _evaluate(qnet, image_size, codec, sigma, data_dir, split, tmp, "int8", progress,
                       max_samples)
    coords_fp, _, ids_fp, boxes = fp.preds
    coords_q8, _, ids_q8, _ = q8.preds
    if not np.array_equal(ids_fp, ids_q8):
        raise RuntimeError("the two evaluations saw different boxes")
    labelled = _labelled_mask(data_dir, split, len(boxes))
    rep = OrderedDict()
    rep["ap_fp32"] = float(fp.ap)
    rep["ap_int8"] = float(q8.ap)
    rep["pck_all"] = pck_agreement(coords_q8, coords_fp, boxes, threshold)
    rep["pck_labelled"] = pck_agreement(coords_q8, coords_fp, boxes, threshold, labelled)
    rep["threshold"] = threshold
    rep["num_people"] = int(len(boxes))
    rep["coords_fp32"] = coords_fp
    rep["coords_int8"] = coords_q8
    rep["boxes"] = np.asarray(boxes, dtype=np.float64)
    rep["labelled"] = labelled
    return rep


def _labelled_mask(data_dir, split, n):
    from ..data.mscoco import COCOKeyPoints
    from ..engine.config import EVAL_DEFAULTS, resolve_data
    root, split = resolve_data(data_dir, split, EVAL_DEFAULTS["split"])
    ds = COCOKeyPoints(root, split, image_format="numpy")
    return np.stack([np.asarray(ds.records[i]["joints_3d"])[:, 0, 1] > 0 for i in range(n)])

