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

Bottom-up models (``spec.kind == 'bottom_up'``, OpenPose) export their
decoded pair as two outputs, ``pafs`` and ``heatmaps``, with a dynamic batch,
height and width (MXNet 1.9's converter keeps ``H``/``W`` symbolic for these
all-convolutional graphs); the folder gets :func:`bottom_up_deploy_config`'s
``deploy.json`` (input height at scale 1, stride, mean/std, channel order,
flip permutations, test scales, PAF codec settings, output names), a copy of
:mod:`gluonpose.deploy.bottom_up_decoder` as ``pose_decoder.py`` and of
:mod:`gluonpose.codecs.paf` as ``paf_codec.py`` (numpy + OpenCV; their one
gluonpose import line is rewritten at copy time).

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
           "OUTPUT_NAME", "BOTTOM_UP_OUTPUT_NAMES", "bottom_up_deploy_config", "random_input"]

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
#: the two outputs of a bottom-up export: the last stage's PAFs, then its heatmaps
BOTTOM_UP_OUTPUT_NAMES = ("pafs", "heatmaps")
#: a bottom-up deployment's second file: the PAF codec, made self-contained
PAF_CODEC_FILE = "paf_codec.py"


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
    size. A bottom-up network (``spec.kind == 'bottom_up'``, e.g. OpenPose)
    gives its decoded pair as two outputs, ``pafs`` and ``heatmaps``, and
    its input height and width are dynamic (``'height'``, ``'width'``: any
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
    bottom_up = getattr(spec_of(net), "kind", "top_down") == "bottom_up"
    model = _onnx_from_symbol(sym, params, size, dynamic_batch, batch_size, opset,
                              BOTTOM_UP_OUTPUT_NAMES if bottom_up else (OUTPUT_NAME,),
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


def bottom_up_deploy_config(model, input_size, spec, fmt, codec=None, mean=None, std=None,
                            dynamic_batch=True, extra=None):
    """The ``deploy.json`` content of a bottom-up (OpenPose) export.

    Parameters
    ----------
    model : str
        Model name (e.g. ``openpose_mobilenet_light_coco``).
    input_size : tuple of int
        ``(H, W)`` the graph is traced at (multiples of the spec's
        ``size_multiple``); ``H`` is also the image height at scale 1 of the
        deployed protocol (``input_height``). The ONNX input's height and
        width are dynamic, so every padded test size runs as it is.
    spec : BottomUpSpec
    fmt : str
        ``'onnx'`` or ``'symbol'``.
    codec : PAFCodec, optional
        Grouping settings (default the spec's,
        :func:`~gluonpose.engine.bottom_up_forward.default_paf_codec`).
    mean, std : sequence of float, optional
        Default the spec's.
    dynamic_batch : bool
    extra : dict, optional

    Returns
    -------
    collections.OrderedDict
    """
    from .._version import __version__
    from .bottom_up_decoder import CODEC_KEYS
    if getattr(spec, "kind", None) != "bottom_up":
        raise ValueError("%s: not a bottom-up model" % model)
    if fmt not in ("onnx", "symbol"):
        raise ValueError("bottom-up export formats are onnx and symbol, got %r" % (fmt,))
    h, w = _check_input_size(input_size, spec)
    if codec is None:
        from ..engine.bottom_up_forward import default_paf_codec
        codec = default_paf_codec(spec)
    flip = spec.paf_flip_channels()
    cfg = OrderedDict()
    cfg["format"] = fmt
    cfg["kind"] = spec.kind
    cfg["model"] = model
    cfg["input_name"] = INPUT_NAME
    cfg["output_names"] = list(BOTTOM_UP_OUTPUT_NAMES)
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
    cfg["pad_value"] = 128
    cfg["test_scales"] = [float(v) for v in spec.test_scales]
    cfg["heatmap_channels"] = spec.heatmap_channels
    cfg["paf_channels"] = spec.paf_channels
    cfg["flip_heatmap"] = None if spec.flip_heatmap is None else \
        [int(i) for i in spec.flip_heatmap]
    cfg["flip_paf"] = None if spec.flip_paf is None else [int(i) for i in spec.flip_paf]
    cfg["paf_flip_channels"] = None if flip is None else \
        [[int(i) for i in flip[0]], [float(v) for v in flip[1]]]
    cfg["codec_name"] = "paf"
    cfg["codec"] = OrderedDict((k, getattr(codec, k)) for k in CODEC_KEYS)
    cfg["schema"] = spec.schema
    cfg["eval_schema"] = spec.eval_schema
    cfg["gluonpose_version"] = __version__
    if extra:
        cfg.update(extra)
    return cfg


#: the PAF codec's one gluonpose import, and what replaces it in a deployment
_PAF_IMPORT = "from .base import to_numpy\n"
_PAF_IMPORT_STANDALONE = (
    "\n\ndef to_numpy(arr, dtype=np.float32):\n"
    "    \"\"\"``arr`` as a numpy array of ``dtype`` (standalone copy: no MXNet).\"\"\"\n"
    "    if hasattr(arr, \"asnumpy\"):\n"
    "        arr = arr.asnumpy()\n"
    "    return np.asarray(arr, dtype=dtype)\n")
_DECODER_IMPORT = "from ..codecs.paf import PAFCodec, merge_scales\n"
_DECODER_IMPORT_STANDALONE = "from paf_codec import PAFCodec, merge_scales\n"


def _copy_rewritten(src, dst, old, new):
    """Copy a module, replacing its one gluonpose import line ``old`` by ``new``."""
    with open(src, encoding="utf-8") as f:
        text = f.read()
    if text.count(old) != 1:
        raise RuntimeError("%s: expected the import line %r once" % (src, old.strip()))
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))


def _write_bottom_up_decoder(folder):
    """``pose_decoder.py`` (the bottom-up pipeline) and ``paf_codec.py``, gluonpose-free."""
    here = os.path.dirname(os.path.abspath(__file__))
    codecs = os.path.join(os.path.dirname(here), "codecs")
    _copy_rewritten(os.path.join(codecs, "paf.py"), os.path.join(folder, PAF_CODEC_FILE),
                    _PAF_IMPORT, _PAF_IMPORT_STANDALONE)
    _copy_rewritten(os.path.join(here, "bottom_up_decoder.py"),
                    os.path.join(folder, DECODER_FILE), _DECODER_IMPORT,
                    _DECODER_IMPORT_STANDALONE)


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
        _write_bottom_up_decoder(folder)
        files["codec"] = PAF_CODEC_FILE
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
