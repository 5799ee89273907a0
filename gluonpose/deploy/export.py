"""Export a pose network: MXNet symbol + params, ONNX, and a deployment folder.

* :func:`export_symbol` / :func:`load_symbol` -- ``HybridBlock.export``
  (``prefix-symbol.json`` + ``prefix-0000.params``) and back as a
  ``gluon.SymbolBlock`` (GluonCV's ``--deploy`` format);
* :func:`export_onnx` -- the same graph through ``mxnet.onnx``'s converter
  at opset 13 (IR version 7, so onnxruntime releases from 1.8 on load it),
  with the weights as initializers only (not graph inputs, so the runtime can
  fold constants), the input named ``data`` and the output ``heatmaps``, and
  optionally a dynamic batch axis;
* :func:`write_deployment` -- a self-contained folder: the model files,
  ``pose_decoder.py`` (a copy of :mod:`gluonpose.deploy.numpy_decoder`, numpy
  only) and ``deploy.json`` (input size, mean/std, codec, sigma, flip index,
  keypoint names, skeleton, OKS sigmas). The folder is built under a
  temporary name and renamed into place, so it is complete or absent.

Bottom-up models (``spec.kind == 'bottom_up'``) export their decoded pair
as two outputs with a dynamic batch, height and width (MXNet 1.9's converter
keeps ``H``/``W`` symbolic for these all-convolutional graphs). What differs
between the groupings sits in one table, ``_GROUPINGS``, keyed by
``spec.grouping``:

* ``'paf'`` (OpenPose): outputs ``pafs``, ``heatmaps``; the folder gets a
  copy of :mod:`gluonpose.deploy.bottom_up_decoder` as ``pose_decoder.py``
  and of :mod:`gluonpose.codecs.paf` as ``paf_codec.py`` (numpy + OpenCV);
* ``'ae'`` (Associative Embedding): outputs ``detections``, ``tags``; a copy
  of :mod:`gluonpose.deploy.ae_decoder` as ``pose_decoder.py`` and of
  :mod:`gluonpose.codecs.ae` as ``ae_codec.py`` (numpy + OpenCV + scipy).

The gluonpose import lines of the copies are rewritten at copy time (the
codec's to standalone definitions), and the copy fails when an import is
left without a replacement. ``deploy.json`` comes from
:func:`bottom_up_deploy_config` (input height at scale 1, stride, size
multiple, mean/std, channel order, flip permutations, test scales, the
grouping codec's settings, output names).

Heatmap decoding is deliberately left out of the exported graph: the numpy
decoder is the reference for it, and a test holds it equal to the library's
codecs.
"""
import json
import os
import shutil
import tempfile
import warnings
from collections import OrderedDict

import mxnet as mx
import numpy as np

from ..model_zoo.model_store import file_sha1
from ..utils.atomic import fsync_dir

__all__ = ["export_symbol", "load_symbol", "export_onnx", "deploy_config", "write_deployment",
           "load_deployment", "DECODER_FILE", "CONFIG_FILE", "ONNX_OPSET", "INPUT_NAME",
           "OUTPUT_NAME", "BOTTOM_UP_OUTPUT_NAMES", "AE_OUTPUT_NAMES", "bottom_up_deploy_config",
           "random_input"]

#: names inside a deployment folder
DECODER_FILE = "pose_decoder.py"
CONFIG_FILE = "deploy.json"
ONNX_FILE = "model.onnx"
SYMBOL_PREFIX = "model"

#: opset of the exported ONNX graph (Conv, ConvTranspose, BatchNormalization, MaxPool,
#: Relu, Add all have their current semantics there); IR version 7 goes with it
ONNX_OPSET = 13
_IR_FOR_OPSET = {11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8}

INPUT_NAME = "data"
OUTPUT_NAME = "heatmaps"
#: the two outputs of an OpenPose export: the last stage's PAFs, then its heatmaps
BOTTOM_UP_OUTPUT_NAMES = ("pafs", "heatmaps")
#: the two outputs of an Associative Embedding export: the last stack's detections, tags
AE_OUTPUT_NAMES = ("detections", "tags")
#: a bottom-up deployment's second file: its grouping codec, made self-contained
PAF_CODEC_FILE = "paf_codec.py"
AE_CODEC_FILE = "ae_codec.py"


def _check_input_size(input_size, spec=None):
    """``(H, W)`` ints allowed by the model's spec (default: the stride-32 top-down one)."""
    from ..model_zoo.model_zoo import DEFAULT_SPEC
    try:
        h, w = (int(v) for v in input_size)
    except (TypeError, ValueError):
        raise ValueError("input size must be two integers H,W, got %r" % (input_size,)) from None
    # the trunk's total stride: other sizes would change the heatmap stride
    return (spec or DEFAULT_SPEC).check_input_size((h, w))


class _DecodedOutput(mx.gluon.HybridBlock):
    """A multi-output network seen through its decoded output only (for export)."""

    def __init__(self, net, spec):
        super().__init__(prefix="")
        self._spec = spec
        with self.name_scope():
            self.net = net

    def hybrid_forward(self, F, x):
        return self._spec.decoded(self.net(x))


def exportable(net):
    """``net``, or a wrapper returning only the decoded output of a multi-output net."""
    from ..model_zoo import spec_of
    spec = spec_of(net)
    return _DecodedOutput(net, spec) if spec.multi_output else net


def export_symbol(net, prefix, input_size, batch_size=1):
    """Write ``prefix-symbol.json`` and ``prefix-0000.params`` of a HybridBlock.

    Parameters
    ----------
    net : mxnet.gluon.HybridBlock
        Initialised network (hybridized here if it is not).
    prefix : str
        Path prefix of the two files.
    input_size : tuple of int
        ``(H, W)``; one forward pass of this size builds the graph.
    batch_size : int
        Batch of that pass (the symbol itself has no fixed batch).

    Returns
    -------
    symbol_file, params_file : str
    """
    from ..model_zoo import spec_of
    h, w = _check_input_size(input_size, spec_of(net))
    ctx = next(iter(net.collect_params().values())).list_ctx()[0]
    net = exportable(net)
    net.hybridize()
    out = net(mx.nd.zeros((batch_size, 3, h, w), ctx=ctx))
    for arr in (out if isinstance(out, (list, tuple)) else [out]):
        arr.wait_to_read()
    net.export(prefix, epoch=0)
    return prefix + "-symbol.json", prefix + "-0000.params"


def load_symbol(prefix, ctx=None):
    """Load ``prefix-symbol.json`` / ``prefix-0000.params`` as a ``gluon.SymbolBlock``.

    ``prefix`` may also be a deployment folder (its ``model`` or ``model-int8``
    files). Quantized (INT8) exports load the same way (CPU only).
    """
    if os.path.isdir(prefix):
        config = load_deployment(prefix)
        prefix = os.path.join(prefix, config["files"]["prefix"])
    sym_file, params_file = prefix + "-symbol.json", prefix + "-0000.params"
    for path in (sym_file, params_file):
        if not os.path.isfile(path):
            raise FileNotFoundError("%s: no such file" % path)
    ctx = ctx or mx.cpu()
    with warnings.catch_warnings():
        # SymbolBlock warns that it cannot infer the input's dtype; it is float32
        warnings.simplefilter("ignore", UserWarning)
        return mx.gluon.SymbolBlock.imports(sym_file, [INPUT_NAME], params_file, ctx=ctx)


def _onnx_from_symbol(sym, params, input_size, dynamic_batch, batch_size, opset,
                      output_names=(OUTPUT_NAME,), dynamic_size=False):
    """ModelProto from a symbol and its parameters (mxnet.onnx's converter).

    ``output_names`` renames the graph's outputs in order; ``dynamic_size``
    leaves the input's height and width symbolic (``'height'``, ``'width'``).
    """
    import onnx
    from onnx import helper
    try:
        from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph
    except ImportError as err:   # pragma: no cover - mxnet 1.9 ships it
        raise RuntimeError("this MXNet has no ONNX exporter (mxnet.onnx): %s" % err) from None
    h, w = input_size
    shape = (batch_size, 3, h, w)
    dyn = None
    if dynamic_batch or dynamic_size:
        dyn = [("batch" if dynamic_batch else batch_size, 3,
                "height" if dynamic_size else h, "width" if dynamic_size else w)]
    graph = MXNetGraph().create_onnx_graph_proto(
        sym, params, [shape], [onnx.TensorProto.FLOAT], opset_version=opset,
        dynamic=dyn is not None, dynamic_input_shapes=dyn)
    # weights are initializers; listing them as graph inputs too would let a caller
    # override them and stops onnxruntime from folding constants (BN into conv)
    init_names = {t.name for t in graph.initializer}
    keep = [i for i in graph.input if i.name not in init_names]
    del graph.input[:]
    graph.input.extend(keep)
    if len(graph.input) != 1 or len(graph.output) != len(output_names):
        raise RuntimeError("expected one input and %d output(s), got %d and %d"
                           % (len(output_names), len(graph.input), len(graph.output)))
    rename = {o.name: new for o, new in zip(graph.output, output_names)}
    for node in graph.node:
        node.output[:] = [rename.get(o, o) for o in node.output]
        node.input[:] = [rename.get(i, i) for i in node.input]
    for out, new in zip(graph.output, output_names):
        out.name = new
    model = helper.make_model(graph, producer_name="gluonpose",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = _IR_FOR_OPSET.get(opset, model.ir_version)
    onnx.checker.check_model(model)
    return model


def export_onnx(net, path, input_size, dynamic_batch=True, batch_size=1, opset=ONNX_OPSET):
    """Export a HybridBlock to an ONNX file.

    A top-down network gives one output, ``heatmaps``, at the fixed input
    size. A bottom-up network (``spec.kind == 'bottom_up'``) gives its
    decoded pair as two outputs, ``pafs`` and ``heatmaps`` (OpenPose,
    ``spec.grouping == 'paf'``) or ``detections`` and ``tags`` (Associative
    Embedding, ``'ae'``), and its input height and width are dynamic (``'height'``, ``'width'``: any
    multiple of the stride; MXNet 1.9's converter keeps them symbolic for
    these all-convolutional graphs), ``input_size`` being only the size the
    graph is traced at.

    Parameters
    ----------
    net : mxnet.gluon.HybridBlock
        Initialised FP32 network.
    path : str
        Output ``.onnx`` file (written atomically).
    input_size : tuple of int
        ``(H, W)``.
    dynamic_batch : bool
        Leave the batch axis symbolic (``'batch'``); otherwise it is fixed to
        ``batch_size``.
    batch_size : int
        The fixed batch (or the shape used while converting).
    opset : int
        ONNX opset (default 13).

    Returns
    -------
    str
        ``path``.
    """
    from ..utils.atomic import atomic_path
    from ..model_zoo import spec_of
    size = _check_input_size(input_size, spec_of(net))
    with tempfile.TemporaryDirectory(prefix="gluonpose-onnx-") as tmp:
        prefix = os.path.join(tmp, "net")
        export_symbol(net, prefix, size, batch_size)
        sym, args, auxs = mx.model.load_checkpoint(prefix, 0)
    params = dict(args)
    params.update(auxs)
    spec = spec_of(net)
    bottom_up = getattr(spec, "kind", "top_down") == "bottom_up"
    names = _grouping(spec.grouping).output_names if bottom_up else (OUTPUT_NAME,)
    model = _onnx_from_symbol(sym, params, size, dynamic_batch, batch_size, opset, names,
                              dynamic_size=bottom_up)
    with atomic_path(path) as tmp_path:
        with open(tmp_path, "wb") as f:
            f.write(model.SerializeToString())
    return path


def deploy_config(model, input_size, codec, sigma, schema, mean, std, fmt, blur_size=None,
                  dynamic_batch=True, extra=None, spec=None):
    """The ``deploy.json`` content of an export.

    Parameters
    ----------
    model : str
        Model name (e.g. ``simple_pose_resnet18_v1b``).
    input_size : tuple of int
        ``(H, W)``.
    codec : str
        ``'msra'`` or ``'unbiased'``.
    sigma : float
        Target sigma the network was trained with (the unbiased decoder uses it).
    schema : KeypointSchema
        Keypoint names, flip index, skeleton, OKS sigmas.
    mean, std : sequence of float
    fmt : str
        ``'onnx'``, ``'symbol'`` or ``'symbol-int8'``.
    blur_size : int, optional
        Unbiased decoder blur (default from sigma).
    dynamic_batch : bool
    extra : dict, optional
        More entries (e.g. the INT8 calibration record).
    spec : TopDownSpec, optional
        The model's contract (heatmap stride, allowed sizes); default the
        registered spec of ``model``.

    Returns
    -------
    collections.OrderedDict
    """
    from .._version import __version__
    from ..model_zoo import get_model_spec
    from ..model_zoo.model_zoo import DEFAULT_SPEC
    if spec is None:
        try:
            spec = get_model_spec(model) or DEFAULT_SPEC
        except ValueError:          # a name outside the zoo (a custom network)
            spec = DEFAULT_SPEC
    h, w = _check_input_size(input_size, spec)
    codec = "unbiased" if str(codec).lower() == "dark" else str(codec).lower()
    if codec not in ("msra", "unbiased", "integral"):
        raise ValueError("unknown codec %r (msra, unbiased, integral)" % (codec,))
    cfg = OrderedDict()
    cfg["format"] = fmt
    cfg["model"] = model
    cfg["input_name"] = INPUT_NAME
    cfg["output_name"] = OUTPUT_NAME
    cfg["input_size"] = [h, w]
    cfg["heatmap_size"] = list(spec.heatmap_size((h, w)))
    cfg["dynamic_batch"] = bool(dynamic_batch)
    cfg["color"] = "RGB"
    cfg["mean"] = [float(v) for v in mean]
    cfg["std"] = [float(v) for v in std]
    cfg["codec"] = codec
    cfg["sigma"] = float(sigma)
    cfg["blur_size"] = None if blur_size is None else int(blur_size)
    cfg["box_scale"] = 1.25
    cfg["flip_index"] = [int(i) for i in schema.flip_index]
    cfg["flip_shift"] = spec.flip_shift
    cfg["schema"] = schema.name
    cfg["keypoints"] = list(schema.keypoints)
    cfg["skeleton"] = [[int(a), int(b)] for a, b in schema.skeleton]
    # float32 -> float64 would print 0.026000000000000002: keep the schema's decimals
    cfg["oks_sigmas"] = [round(float(s), 6) for s in schema.sigmas]
    cfg["gluonpose_version"] = __version__
    if extra:
        cfg.update(extra)
    return cfg


def _bottom_up_common(model, input_size, spec, fmt, output_names, mean, std, dynamic_batch):
    """The ``deploy.json`` entries every bottom-up grouping shares (input and geometry)."""
    h, w = _check_input_size(input_size, spec)
    cfg = OrderedDict()
    cfg["format"] = fmt
    cfg["kind"] = spec.kind
    cfg["grouping"] = spec.grouping
    cfg["model"] = model
    cfg["input_name"] = INPUT_NAME
    cfg["output_names"] = list(output_names)
    cfg["input_size"] = [h, w]
    cfg["input_height"] = h
    cfg["dynamic_size"] = fmt == "onnx"
    cfg["dynamic_batch"] = bool(dynamic_batch)
    cfg["stride"] = spec.stride
    cfg["size_multiple"] = spec.size_multiple
    cfg["color"] = "RGB"
    cfg["channel_order"] = spec.channel_order
    cfg["mean"] = [float(v) for v in (spec.mean if mean is None else mean)]
    cfg["std"] = [float(v) for v in (spec.std if std is None else std)]
    cfg["test_scales"] = [float(v) for v in spec.test_scales]
    return cfg


def _paf_entries(cfg, spec, codec):
    """OpenPose's part of ``deploy.json``: channels, flip permutations, PAF codec."""
    from .bottom_up_decoder import CODEC_KEYS
    if codec is None:
        from ..engine.bottom_up_forward import default_paf_codec
        codec = default_paf_codec(spec)
    flip = spec.paf_flip_channels()
    cfg["pad_value"] = 128
    cfg["heatmap_channels"] = spec.heatmap_channels
    cfg["paf_channels"] = spec.paf_channels
    cfg["flip_heatmap"] = None if spec.flip_heatmap is None else \
        [int(i) for i in spec.flip_heatmap]
    cfg["flip_paf"] = None if spec.flip_paf is None else [int(i) for i in spec.flip_paf]
    cfg["paf_flip_channels"] = None if flip is None else \
        [[int(i) for i in flip[0]], [float(v) for v in flip[1]]]
    cfg["codec_name"] = "paf"
    cfg["codec"] = OrderedDict((k, getattr(codec, k)) for k in CODEC_KEYS)


def _ae_entries(cfg, spec, codec):
    """Associative Embedding's part of ``deploy.json``: joints, tags, flip, AE codec."""
    from .ae_decoder import CODEC_KEYS
    if codec is None:
        codec = spec.make_codec()
    cfg["num_joints"] = spec.num_joints
    cfg["tag_dim"] = spec.tag_dim
    cfg["flip_heatmap"] = None if spec.flip_heatmap is None else \
        [int(i) for i in spec.flip_heatmap]
    cfg["codec_name"] = "ae"
    # JSON has no tuples: the joint order goes as a list (AECodec takes either)
    cfg["codec"] = OrderedDict(
        (k, [int(j) for j in codec.joint_order] if k == "joint_order" else getattr(codec, k))
        for k in CODEC_KEYS)


# the replacements follow a blank line after the last import: one more makes PEP 8's two
_TO_NUMPY_STANDALONE = (
    "\ndef to_numpy(arr, dtype=np.float32):\n"
    "    \"\"\"``arr`` as a numpy array of ``dtype`` (standalone copy: no MXNet).\"\"\"\n"
    "    if hasattr(arr, \"asnumpy\"):\n"
    "        arr = arr.asnumpy()\n"
    "    return np.asarray(arr, dtype=dtype)\n")
# numpy-only stand-in for gluonpose.codecs.flip.flip_heatmaps, restricted to what a
# deployment passes (a permutation list; no shift or a fractional one) and computing
# the same float32 expression, so the flip merge is bit-identical to the library's
_FLIP_HEATMAPS_STANDALONE = (
    "\n\ndef flip_heatmaps(heatmaps, flip_index, shift=False):\n"
    "    \"\"\"Mirror ``(N, J, h, w)`` maps back: permute joints, flip W, shift right by\n"
    "    ``shift`` of a cell (a fraction, by linear interpolation; standalone copy).\"\"\"\n"
    "    perm = np.asarray(flip_index, dtype=np.int64)\n"
    "    if perm.ndim != 1 or sorted(perm.tolist()) != list(range(heatmaps.shape[1])):\n"
    "        raise ValueError(\"flip_index must be a permutation of the %d joints\"\n"
    "                         % heatmaps.shape[1])\n"
    "    out = heatmaps[:, perm, :, ::-1]\n"
    "    if shift is False or shift == 0:\n"
    "        return np.ascontiguousarray(out)\n"
    "    if not 0.0 < shift < 1.0:\n"
    "        raise ValueError(\"shift must be a fraction of a cell, got %r\" % (shift,))\n"
    "    left = np.concatenate([out[..., :1], out[..., :-1]], axis=-1)\n"
    "    return np.ascontiguousarray((1 - shift) * out + shift * left, dtype=out.dtype)\n\n")


class _Grouping:
    """How a bottom-up grouping exports: graph outputs, shipped files, ``deploy.json``.

    Attributes
    ----------
    output_names : tuple of str
        Names of the ONNX outputs, in the order ``spec.decoded`` returns them.
    decoder_module : str
        Module of :mod:`gluonpose.deploy` copied as ``pose_decoder.py``.
    decoder_imports : dict
        Its gluonpose import line -> the line importing the shipped codec copy.
    codec_module, codec_file : str
        Module of :mod:`gluonpose.codecs` shipped, and its name in the folder.
    codec_imports : dict
        Every gluonpose import line of the codec -> a standalone replacement.
    entries : callable
        ``entries(cfg, spec, codec)`` adds the grouping's ``deploy.json`` entries.
    """

    def __init__(self, output_names, decoder_module, decoder_imports, codec_module, codec_file,
                 codec_imports, entries):
        self.output_names = tuple(output_names)
        self.decoder_module = decoder_module
        self.decoder_imports = dict(decoder_imports)
        self.codec_module = codec_module
        self.codec_file = codec_file
        self.codec_imports = dict(codec_imports)
        self.entries = entries


#: the export of each bottom-up grouping (``spec.grouping``)
_GROUPINGS = {
    "paf": _Grouping(
        BOTTOM_UP_OUTPUT_NAMES, "bottom_up_decoder.py",
        {"from ..codecs.paf import PAFCodec, merge_scales\n":
         "from paf_codec import PAFCodec, merge_scales\n"},
        "paf.py", PAF_CODEC_FILE,
        {"from .base import to_numpy\n": _TO_NUMPY_STANDALONE},
        _paf_entries),
    "ae": _Grouping(
        AE_OUTPUT_NAMES, "ae_decoder.py",
        {"from ..codecs.ae import AECodec, ae_test_inputs, merge_outputs\n":
         "from ae_codec import AECodec, ae_test_inputs, merge_outputs\n"},
        "ae.py", AE_CODEC_FILE,
        {"from .base import to_numpy\n": _TO_NUMPY_STANDALONE,
         "from .flip import flip_heatmaps\n": _FLIP_HEATMAPS_STANDALONE},
        _ae_entries),
}


def _grouping(name):
    """The :class:`_Grouping` of ``spec.grouping`` ``name`` (ValueError when unknown)."""
    try:
        return _GROUPINGS[name]
    except KeyError:
        raise ValueError("bottom-up grouping %r cannot be exported (known: %s)"
                         % (name, ", ".join(sorted(_GROUPINGS)))) from None


def bottom_up_deploy_config(model, input_size, spec, fmt, codec=None, mean=None, std=None,
                            dynamic_batch=True, extra=None):
    """The ``deploy.json`` content of a bottom-up (OpenPose or Associative Embedding) export.

    Every grouping records the format, ``kind`` and ``grouping``, the model,
    input and output names, the traced ``input_size``, ``input_height`` (the
    image height -- for AE the longer side -- at scale 1), whether the size
    is dynamic, the stride and size multiple, channel order, mean/std and
    test scales. OpenPose (``'paf'``) adds its channel counts, flip
    permutations and :class:`~gluonpose.codecs.paf.PAFCodec` settings;
    Associative Embedding (``'ae'``) adds ``num_joints``, ``tag_dim``,
    ``flip_heatmap`` and the :class:`~gluonpose.codecs.ae.AECodec`
    constructor arguments.

    Parameters
    ----------
    model : str
        Model name (e.g. ``openpose_mobilenet_light_coco``).
    input_size : tuple of int
        ``(H, W)`` the graph is traced at (multiples of the spec's
        ``size_multiple``); ``H`` is also the image height at scale 1 of the
        deployed protocol (``input_height``). The ONNX input's height and
        width are dynamic, so every padded test size runs as it is.
    spec : BottomUpSpec or AssociativeEmbeddingSpec
    fmt : str
        ``'onnx'`` or ``'symbol'``.
    codec : PAFCodec or AECodec, optional
        Grouping settings the deployed decoder uses (default the spec's:
        :func:`~gluonpose.engine.bottom_up_forward.default_paf_codec`,
        ``spec.make_codec()``).
    mean, std : sequence of float, optional
        Default the spec's.
    dynamic_batch : bool
    extra : dict, optional

    Returns
    -------
    collections.OrderedDict
    """
    from .._version import __version__
    if getattr(spec, "kind", None) != "bottom_up":
        raise ValueError("%s: not a bottom-up model" % model)
    if fmt not in ("onnx", "symbol"):
        raise ValueError("bottom-up export formats are onnx and symbol, got %r" % (fmt,))
    group = _grouping(spec.grouping)
    cfg = _bottom_up_common(model, input_size, spec, fmt, group.output_names, mean, std,
                            dynamic_batch)
    group.entries(cfg, spec, codec)
    cfg["schema"] = spec.schema
    cfg["eval_schema"] = spec.eval_schema
    cfg["gluonpose_version"] = __version__
    if extra:
        cfg.update(extra)
    return cfg


def _copy_rewritten(src, dst, rewrites):
    """Copy a module, replacing each of its gluonpose import lines by ``rewrites[line]``.

    Every key must occur exactly once, and no relative or gluonpose import may
    be left afterwards: an import added to the source later fails the export
    here, not the deployment at run time.
    """
    with open(src, encoding="utf-8") as f:
        text = f.read()
    for old, new in rewrites.items():
        if text.count(old) != 1:
            raise RuntimeError("%s: expected the import line %r once" % (src, old.strip()))
        text = text.replace(old, new)
    left = [line.strip() for line in text.splitlines()
            if line.lstrip().startswith(("from .", "import gluonpose", "from gluonpose"))]
    if left:
        raise RuntimeError("%s: no standalone replacement for %s"
                           % (src, ", ".join(repr(line) for line in left)))
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)


def _write_bottom_up_decoder(folder, grouping="paf"):
    """``pose_decoder.py`` (the grouping's pipeline) and its codec copy, gluonpose-free.

    Returns the codec's file name in ``folder``.
    """
    group = _grouping(grouping)
    here = os.path.dirname(os.path.abspath(__file__))
    codecs = os.path.join(os.path.dirname(here), "codecs")
    _copy_rewritten(os.path.join(codecs, group.codec_module),
                    os.path.join(folder, group.codec_file), group.codec_imports)
    _copy_rewritten(os.path.join(here, group.decoder_module), os.path.join(folder, DECODER_FILE),
                    group.decoder_imports)
    return group.codec_file


def _fill_folder(folder, net, fmt, config, dynamic_batch, batch_size, quantized_net=None):
    """Write the model files, the decoder and ``deploy.json`` into ``folder``."""
    h, w = config["input_size"]
    files = OrderedDict()
    if fmt == "onnx":
        export_onnx(net, os.path.join(folder, ONNX_FILE), (h, w), dynamic_batch=dynamic_batch,
                    batch_size=batch_size)
        files["model"] = ONNX_FILE
    else:
        block, prefix = (quantized_net, SYMBOL_PREFIX + "-int8") if quantized_net is not None \
            else (net, SYMBOL_PREFIX)
        sym, params = export_symbol(block, os.path.join(folder, prefix), (h, w))
        files["prefix"] = prefix
        files["symbol"] = os.path.basename(sym)
        files["params"] = os.path.basename(params)
    if config.get("kind", "top_down") == "bottom_up":
        # folders written before AE existed carry no grouping: they are OpenPose's
        files["codec"] = _write_bottom_up_decoder(folder, config.get("grouping", "paf"))
    else:
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy_decoder.py")
        shutil.copyfile(src, os.path.join(folder, DECODER_FILE))
    files["decoder"] = DECODER_FILE
    files["sha1"] = {name: file_sha1(os.path.join(folder, name)) for name in
                     sorted(v for k, v in files.items() if k in ("model", "symbol", "params",
                                                                 "decoder", "codec"))}
    config = OrderedDict(config)
    config["files"] = files
    with open(os.path.join(folder, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
    return config


def write_deployment(net, output_dir, config, dynamic_batch=True, batch_size=1,
                     quantized_net=None, overwrite=False):
    """Write a deployment folder atomically.

    Parameters
    ----------
    net : mxnet.gluon.HybridBlock
        The FP32 network.
    output_dir : str
        Folder to create. It must not exist (or be empty) unless ``overwrite``.
    config : dict
        From :func:`deploy_config`; its ``format`` picks the files
        (``onnx``: ``model.onnx``; ``symbol``: ``model-symbol.json`` +
        ``model-0000.params``; ``symbol-int8``: ``model-int8-*`` from
        ``quantized_net``).
    dynamic_batch : bool
        ONNX only: symbolic batch axis.
    batch_size : int
        ONNX only: the batch when it is fixed.
    quantized_net : mxnet.gluon.SymbolBlock, optional
        The INT8 network (format ``symbol-int8``).
    overwrite : bool
        Replace an existing non-empty folder.

    Returns
    -------
    dict
        The ``deploy.json`` written (with a ``files`` entry).

    Raises
    ------
    ValueError
        ``output_dir`` exists and is not empty (without ``overwrite``) or is a file.
    OSError
        The parent folder cannot be written.
    """
    fmt = config["format"]
    if fmt not in ("onnx", "symbol", "symbol-int8"):
        raise ValueError("unknown export format %r" % (fmt,))
    if config.get("kind", "top_down") == "bottom_up" and fmt == "symbol-int8":
        raise ValueError("INT8 export is top-down only")
    if (fmt == "symbol-int8") != (quantized_net is not None):
        raise ValueError("format 'symbol-int8' goes with a quantized network and only with it")
    out = os.path.abspath(os.path.expanduser(output_dir))
    if os.path.exists(out):
        if not os.path.isdir(out):
            raise ValueError("%s: exists and is not a folder" % output_dir)
        if os.listdir(out) and not overwrite:
            raise ValueError("%s: folder exists and is not empty (use --overwrite)" % output_dir)
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(out) + "-", dir=parent)
    except OSError as err:
        raise OSError("%s: cannot write the output folder (%s)"
                      % (output_dir, err.strerror or err)) from None
    old = None
    try:
        os.chmod(tmp, 0o755)
        written = _fill_folder(tmp, net, fmt, config, dynamic_batch, batch_size, quantized_net)
        if os.path.exists(out):
            # keep the old folder until the new one is in place
            old = tempfile.mkdtemp(prefix=".old-" + os.path.basename(out) + "-", dir=parent)
            os.rmdir(old)
            os.replace(out, old)
        os.replace(tmp, out)
        fsync_dir(parent)
    except BaseException:
        if old is not None and not os.path.exists(out):
            os.replace(old, out)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return written


def load_deployment(folder):
    """The ``deploy.json`` of a deployment folder (a dict)."""
    path = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError("%s: no %s (not a gluonpose export)" % (folder, CONFIG_FILE))
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def random_input(input_size, batch_size=1, seed=0):
    """A seeded float32 ``(N, 3, H, W)`` input (standard normal) for parity checks."""
    h, w = _check_input_size(input_size)
    return np.random.default_rng(seed).standard_normal((batch_size, 3, h, w)).astype(np.float32)
