"""Post-training INT8 quantisation on the CPU (MXNet's oneDNN path).

:func:`quantize` runs ``mxnet.contrib.quantization.quantize_net`` on an FP32
pose network, calibrated on person crops of a keypoint dataset (by default
the bundled mini COCO set, ground-truth boxes, the validation transform), and
returns a ``gluon.SymbolBlock`` whose convolutions, batch norms, activations
and pooling run in INT8 with oneDNN kernels.

What runs INT8 depends on the head (:func:`quantization_summary` lists it per
top-level block of the network, e.g. trunk ``features`` and head ``upsampling``):

* **DUC / pixel-shuffle heads** (MobilePose, FastPose): every convolution, trunk
  and head, is INT8, each DUC's 3x3 conv fused with its batch norm and ReLU by
  oneDNN. The pixel shuffles (reshape/transpose only) are the one part left in
  FP32, between a dequantize and a quantize node, because that measured
  faster: MXNet 1.9's transpose on INT8 tensors is slower than the FP32 one
  plus the two conversions (``bench/bench_zoo.py`` measures both). ``quantize(..., int8_layout=True)``
  moves them onto the INT8 codes all the same (:func:`fuse_int8_layout`; same
  outputs), for a runtime where INT8 transposes are fast.
* **Deconvolution heads** (SimplePose): MXNet 1.9 has no quantized
  ``Deconvolution``, so the three transposed convolutions run in FP32 between
  a dequantize and a quantize node; they are about 40 % of the FP32 network's
  work at 256x192, which bounds the INT8 speed-up.
* **MobileNetV3 trunks**: the convolutions are INT8; the hard-swish /
  hard-sigmoid arithmetic (``x * relu6(x + 3) / 6``) and the SE gates' products
  stay FP32 (MXNet 1.9's quantized ``elemwise_mul`` takes signed INT8 inputs
  only and would fail on an unsigned one at run time).

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
import json
import os
import tempfile
import warnings
from collections import OrderedDict

import mxnet as mx
import numpy as np

__all__ = ["calibration_crops", "quantize", "quantization_summary", "QuantizationSummary",
           "fuse_int8_layout", "pck_agreement", "int8_report", "CALIB_MODES", "LAYOUT_OPS"]

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
    from ..data.transforms.presets.top_down import TopDownValTransform
    if dataset is None:
        from ..data import mini_coco
        dataset = mini_coco(image_format="numpy")
    n = len(dataset) if num_examples is None else min(int(num_examples), len(dataset))
    if n <= 0:
        raise ValueError("calibration needs at least one person box")
    transform = TopDownValTransform(None, None, image_size=image_size, mean=mean,
                                              std=std)
    crops = np.empty((n, 3) + tuple(image_size), dtype=np.float32)
    for i in range(n):
        img, label, img_id = dataset[i]
        crops[i] = transform(img, label, img_id)[0].asnumpy()
    return crops


def quantize(net, image_size, calib_mode="naive", calib_data=None, num_calib_examples=None,
             batch_size=16, quantized_dtype="auto", exclude_layers_match=None, logger=None,
             int8_layout=False):
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
    int8_layout : bool, default False
        Run pure data-movement operators (``Reshape``, ``transpose``...: the
        pixel shuffle of a DUC head) on the INT8 tensors between two quantized
        layers, instead of MXNet's dequantize -> FP32 reshape/transpose ->
        quantize (see :func:`fuse_int8_layout`). Outputs are identical; off by
        default because MXNet 1.9's oneDNN transpose takes FP32 only, so the
        FP32 route is the faster one here (module doc).

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
    from ..model_zoo import spec_of
    spec = spec_of(net)
    if calib_data is None:
        # crops normalised as the network expects them (its spec's mean/std)
        calib_data = calibration_crops(image_size, num_examples=num_calib_examples,
                                       mean=spec.mean, std=spec.std)
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
    # MXNet 1.9's quantized elemwise_mul takes int8 inputs only: with unsigned activations
    # (auto/uint8) a product such as MobileNetV3's hard-swish x * relu6(x + 3) / 6 gets one
    # uint8 operand and fails at the first forward, so products stay FP32 there
    exclude_ops = [] if quantized_dtype == "int8" else ["elemwise_mul"]
    net.hybridize()
    with warnings.catch_warnings():
        # quantize_net warns that it is deprecated after MXNet 2.0 and that the input
        # type of the temporary SymbolBlock is unknown; neither is actionable here
        warnings.simplefilter("ignore")
        qnet = quantization.quantize_net(
            net, quantized_dtype=quantized_dtype, exclude_layers_match=exclude_layers_match,
            exclude_operators=exclude_ops, calib_data=it, calib_mode=calib_mode, num_calib_examples=usable, ctx=mx.cpu(),
            logger=logger)
    if int8_layout:
        qnet = fuse_int8_layout(qnet)
    # the INT8 copy keeps the contract (normalisation, decoded output) of its source, and
    # remembers which top-level block of the source each operator came from (summary)
    qnet.pose_spec = spec
    qnet.pose_block_prefixes = _block_prefixes(net)
    return qnet


#: operators that only move data (no arithmetic): they give the same result on INT8 codes
LAYOUT_OPS = ("Reshape", "reshape", "transpose", "depth_to_space", "space_to_depth",
              "expand_dims", "squeeze", "Flatten", "flatten")
_CONVERSIONS = ("_contrib_quantize", "_contrib_quantize_v2", "_contrib_dequantize",
                "_contrib_requantize")
_INT8_DTYPES = ("int8", "uint8")


def _graph_json(qnet):
    """The symbol graph of a SymbolBlock (or a called HybridBlock) as a JSON dict."""
    with tempfile.TemporaryDirectory(prefix="gluonpose-int8-") as tmp:
        prefix = os.path.join(tmp, "q")
        qnet.export(prefix)
        with open(prefix + "-symbol.json", encoding="utf-8") as f:
            return json.load(f)


def _consumers(nodes, heads):
    out = {}
    for i, node in enumerate(nodes):
        for entry in node["inputs"]:
            out.setdefault(entry[0], []).append(i)
    for entry in heads:
        out.setdefault(entry[0], []).append(-1)          # a graph output
    return out


def _prune(graph):
    """Drop the nodes no output depends on; renumber the rest (order kept)."""
    nodes = graph["nodes"]
    keep, stack = set(), [e[0] for e in graph["heads"]]
    while stack:
        i = stack.pop()
        if i not in keep:
            keep.add(i)
            stack.extend(e[0] for e in nodes[i]["inputs"])
    order = sorted(keep)
    new = {old: k for k, old in enumerate(order)}
    out_nodes = []
    for old in order:
        node = dict(nodes[old])
        node["inputs"] = [[new[e[0]]] + list(e[1:]) for e in node["inputs"]]
        out_nodes.append(node)
    graph = dict(graph, nodes=out_nodes,
                 heads=[[new[e[0]]] + list(e[1:]) for e in graph["heads"]],
                 arg_nodes=[k for k, n in enumerate(out_nodes) if n["op"] == "null"])
    graph.pop("node_row_ptr", None)                      # recomputed by the loader
    return graph


def fuse_int8_layout(qnet):
    """Run the data-movement operators between two quantized layers on INT8 codes.

    MXNet's quantisation pass keeps every operator without a quantized kernel
    in FP32, so the pixel shuffle of a DUC head (reshape -> reshape ->
    transpose -> reshape between two INT8 convolutions) becomes
    ``dequantize -> FP32 reshape/transpose -> quantize``: two conversions and a
    transpose of four times the bytes, per DUC block. Reshapes and transposes
    only move values, so they give the same result on the INT8 codes, and the
    value range of their output is the range of their input: this pass feeds
    the layout operators the producing layer's INT8 output directly and hands
    the consumer the producer's ``min``/``max`` in place of the quantize node's
    (the calibrated ranges are the same tensor's). A chain is rewritten only
    when it runs from a ``dequantize`` to a ``quantize`` with nothing else
    reading the intermediate FP32 tensors. :func:`quantize` applies it only
    when asked (``int8_layout=True``): with MXNet 1.9 the FP32 route is faster,
    its oneDNN transpose taking FP32 tensors only.

    Parameters
    ----------
    qnet : mxnet.gluon.SymbolBlock
        Output of ``quantize_net``.

    Returns
    -------
    mxnet.gluon.SymbolBlock
        ``qnet`` itself when no chain qualifies, else a rewritten copy (input
        ``data``, same parameters); outputs equal ``qnet``'s.
    """
    graph = _graph_json(qnet)
    nodes = graph["nodes"]
    users = _consumers(nodes, graph["heads"])
    redirect = {}                                       # (node, out) -> new input entry
    for q, node in enumerate(nodes):
        if node["op"] not in ("_contrib_quantize_v2", "_contrib_quantize"):
            continue
        chain, i = [], node["inputs"][0][0]
        while nodes[i]["op"] in LAYOUT_OPS and len(users.get(i, ())) == 1:
            chain.append(i)
            i = nodes[i]["inputs"][0][0]
        if not chain or nodes[i]["op"] != "_contrib_dequantize" or len(users.get(i, ())) != 1:
            continue
        d_inputs = nodes[i]["inputs"]                     # (data, min, max) of the producer
        nodes[chain[-1]]["inputs"][0] = list(d_inputs[0])
        redirect[(q, 0)] = [chain[0], 0, 0]
        redirect[(q, 1)] = list(d_inputs[1])
        redirect[(q, 2)] = list(d_inputs[2])
    if not redirect:
        return qnet
    for node in nodes:
        node["inputs"] = [redirect.get((e[0], e[1]), e) for e in node["inputs"]]
    graph["heads"] = [redirect.get((e[0], e[1]), e) for e in graph["heads"]]
    sym = mx.sym.load_json(json.dumps(_prune(graph)))
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="gluonpose-int8-") as tmp:
        warnings.simplefilter("ignore")
        out = mx.gluon.SymbolBlock(sym, mx.sym.var("data"))
        # the same values, with their stored dtypes (pre-quantized weights are int8)
        params_file = os.path.join(tmp, "q.params")
        mx.nd.save(params_file, {name: p.data() for name, p in qnet.collect_params().items()})
        out.collect_params().load(params_file, ctx=mx.cpu(), ignore_extra=True, cast_dtype=True,
                                  dtype_source="saved")
    return out


def _block_prefixes(net):
    """``[(name prefix, top-level child name)]`` of every block under ``net``, longest first."""
    pairs = []

    def walk(block, top):
        pairs.append((block.prefix, top))
        for child in block._children.values():
            walk(child, top)

    for name, child in net._children.items():
        walk(child, name)
    return sorted(pairs, key=lambda p: -len(p[0]))


def _origin(node):
    """The FP32 name (and op) a quantized graph node stands for."""
    sub = node.get("subgraphs")
    if sub:
        for inner in sub[0]["nodes"]:
            if inner["op"] in ("Convolution", "FullyConnected"):
                return inner["name"], inner["op"]
    name = node["name"]
    if name.startswith("quantized_"):
        name = name[len("quantized_"):]
    op = node["op"]
    if op.startswith("_contrib_quantized_"):
        op = {"conv": "Convolution", "fully_connected": "FullyConnected"}.get(
            op[len("_contrib_quantized_"):], op)
    return name, op


class QuantizationSummary(dict):
    """What :func:`quantization_summary` returns: a dict with a readable ``str()``."""

    def __str__(self):
        conv = self["convolutions"]
        lines = ["convolutions: %d INT8, %d FP32%s" % (
            conv["int8"], conv["fp32"],
            (" (" + ", ".join(conv["fp32_names"]) + ")") if conv["fp32_names"] else "")]
        width = max([len("conversions")] + [len(b) for b in self["blocks"]])
        for block, sides in self["blocks"].items():
            for side in ("int8", "fp32"):
                if sides[side]:
                    lines.append("  %-*s %-4s %s" % (width, block, side.upper(), ", ".join(
                        "%s x%d" % kv for kv in sorted(sides[side].items()))))
        lines.append("  %-*s      %s" % (width, "conversions", ", ".join(
            "%s x%d" % kv for kv in sorted(self["conversions"].items())) or "none"))
        return "\n".join(lines)


def quantization_summary(qnet):
    """Which operators of a quantized network run in INT8 and which in FP32.

    An operator runs INT8 when it is a quantized kernel (``_contrib_quantized_*``
    or a oneDNN fused node with ``quantized=true``), or when it only moves data
    (:data:`LAYOUT_OPS`) and its input is INT8 (see :func:`fuse_int8_layout`).
    Everything else, layout operators on FP32 tensors included, is FP32.

    Returns
    -------
    QuantizationSummary
        A dict (``str()`` of it is a readable table) with

        * ``'int8'``, ``'fp32'``: ``{graph op: count}`` of the compute operators
          (quantize/dequantize/requantize conversions are not counted);
        * ``'conversions'``: ``{op: count}`` of those conversions;
        * ``'convolutions'``: ``{'int8': n, 'fp32': n, 'fp32_names': [...]}``:
          every convolution, fused oneDNN ones by the ``Convolution`` inside them;
        * ``'blocks'``: the same ``{'int8': {...}, 'fp32': {...}}`` split by the
          top-level block of the source network the operator belongs to (e.g.
          ``features`` / ``upsampling`` for MobilePose, ``preact`` / ``duc1`` ...
          for FastPose), when the network came from :func:`quantize`; operators
          of no known block are under ``'other'``.
    """
    nodes = _graph_json(qnet)["nodes"]
    prefixes = getattr(qnet, "pose_block_prefixes", None) or []
    out = QuantizationSummary(int8={}, fp32={}, conversions={},
                              convolutions={"int8": 0, "fp32": 0, "fp32_names": []},
                              blocks=OrderedDict())
    for _, top in prefixes[::-1]:
        out["blocks"].setdefault(top, {"int8": {}, "fp32": {}})
    int8_out = []                                 # whether node i's first output is INT8
    for node in nodes:
        op = node["op"]
        attrs = node.get("attrs", {})
        quantized = op.startswith("_contrib_quantized") \
            or str(attrs.get("quantized", "")).lower() == "true"
        if op == "null":
            int8_out.append(False)
            continue
        if op in _CONVERSIONS:
            out["conversions"][op] = out["conversions"].get(op, 0) + 1
            int8_out.append(op != "_contrib_dequantize")
            continue
        int8 = quantized or (op in LAYOUT_OPS and int8_out[node["inputs"][0][0]])
        int8_out.append(int8)
        side = "int8" if int8 else "fp32"
        out[side][op] = out[side].get(op, 0) + 1
        name, base_op = _origin(node)
        if base_op == "Convolution":
            out["convolutions"][side] += 1
            if not int8:
                out["convolutions"]["fp32_names"].append(name)
        if prefixes:
            top = next((t for p, t in prefixes if p and name.startswith(p)), "other")
            group = out["blocks"].setdefault(top, {"int8": {}, "fp32": {}})[side]
            group[op] = group.get(op, 0) + 1
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

