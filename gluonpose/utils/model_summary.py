"""Parameter count and GFLOPs of a HybridBlock, read from its symbol graph.

The network is called once on a :class:`mxnet.symbol.Symbol` (no weights are
needed, nothing runs), the shapes of every node are inferred for the given
input size, and the multiply-accumulate operations (MACs) of the layers that
dominate the cost are counted:

* ``Convolution``: ``output elements x (C_in / groups) x k_h x k_w``;
* ``Deconvolution`` (transposed conv): every *input* element is multiplied by
  a ``(C_out / groups) x k_h x k_w`` kernel slice, so
  ``input elements x (C_out / groups) x k_h x k_w``;
* ``FullyConnected``: ``batch x in_features x out_features``.

Biases, batch norm, activations, pooling and element-wise additions are not
counted (together they are well under 1 % for the ResNet pose nets).

Units: **1 GFLOP = 1e9 multiply-adds** (one MAC counted as one "FLOP"), the
convention of most pose-estimation papers and of mmcv's counter.

Published tables differ in how they count transposed convolutions. The HRNet
paper (whose Table 1 is where the Simple Baselines GFLOPs usually quoted come
from) used the HRNet repository's ``get_model_summary``: every convolution,
transposed ones included, is counted as ``weight size x output positions``, and
the sum is divided by ``2**30``. For a stride-2 transposed convolution that is
``stride**2 = 4`` times its real MAC count. :attr:`ModelSummary.hrnet_gflops`
reproduces that figure (Simple Baselines ResNet-50 at 256x192: 8.99, printed
as 8.9 in the paper; the real count is 5.43 GMACs).
"""
import json
from collections import OrderedDict

import numpy as np

__all__ = ["ModelSummary", "model_summary", "COUNTED_OPS"]

#: Operators whose multiply-adds are counted.
COUNTED_OPS = ("Convolution", "Deconvolution", "FullyConnected")


class ModelSummary:
    """Parameters and multiply-adds of a network at one input size.

    Attributes
    ----------
    input_shape : tuple of int
        ``(N, C, H, W)`` the graph was evaluated at.
    output_shape : tuple of int
        Shape of the (first) network output.
    params : int
        Learnable parameters (weights, biases, BN gamma/beta); the BN running
        statistics are not parameters and are reported in ``aux_params``.
    aux_params : int
        Auxiliary states (BN running mean/variance).
    macs : int
        Multiply-adds of the counted layers (see the module docstring).
    layers : list of OrderedDict
        One row per counted layer: ``name``, ``op``, ``input``, ``output``,
        ``weight`` shapes, ``macs`` and ``hrnet_macs``.
    """

    def __init__(self, input_shape, output_shape, params, aux_params, layers):
        self.input_shape = tuple(input_shape)
        self.output_shape = tuple(output_shape)
        self.params = int(params)
        self.aux_params = int(aux_params)
        self.layers = layers
        self.macs = int(sum(row["macs"] for row in layers))

    @property
    def gflops(self):
        """Multiply-adds in units of 1e9 (1 GFLOP = 1e9 multiply-adds)."""
        return self.macs / 1e9

    @property
    def hrnet_gflops(self):
        """The figure HRNet's ``get_model_summary`` prints (transposed convs x4, / 2**30).

        Use it only to compare with tables computed that way (HRNet paper,
        Simple Baselines numbers quoted from it); :attr:`gflops` is the real count.
        """
        return sum(row["hrnet_macs"] for row in self.layers) / float(2 ** 30)

    @property
    def mparams(self):
        """Parameters in millions."""
        return self.params / 1e6

    def by_op(self):
        """``{op: macs}`` over the counted operators."""
        out = OrderedDict((op, 0) for op in COUNTED_OPS)
        for row in self.layers:
            out[row["op"]] += row["macs"]
        return out

    def table(self):
        """The per-layer rows as aligned text (for printing in a tutorial)."""
        lines = ["%-40s %-15s %-20s %-20s %12s" % ("layer", "op", "input", "output", "MMACs")]
        for row in self.layers:
            lines.append("%-40s %-15s %-20s %-20s %12.1f" % (
                row["name"][:40], row["op"], "x".join(map(str, row["input"])),
                "x".join(map(str, row["output"])), row["macs"] / 1e6))
        lines.append("total: %.2f M parameters, %.3f GFLOPs (1e9 multiply-adds)"
                     % (self.mparams, self.gflops))
        return "\n".join(lines)

    def __repr__(self):
        return ("ModelSummary(input %s: %.2f M params, %.3f GFLOPs = %.3e multiply-adds)"
                % ("x".join(map(str, self.input_shape)), self.mparams, self.gflops, self.macs))


def _entry_key(nodes, entry, heads_single):
    """Name of the internal output that a graph entry ``[node, index, version]`` refers to."""
    node = nodes[entry[0]]
    if node["op"] == "null":
        return node["name"]
    if heads_single.get(entry[0], True):
        return node["name"] + "_output"
    return "%s_output%d" % (node["name"], entry[1])


def _layer_macs(op, x_shape, w_shape, y_shape):
    """``(macs, hrnet_macs)`` of one counted layer."""
    if op == "Convolution":
        # weight (C_out, C_in/g, kh, kw): each output element costs C_in/g*kh*kw
        macs = int(np.prod(y_shape, dtype=np.int64)) * int(np.prod(w_shape[1:], dtype=np.int64))
        return macs, macs
    if op == "Deconvolution":
        # weight (C_in, C_out/g, kh, kw): each input element is spread over C_out/g*kh*kw
        macs = int(np.prod(x_shape, dtype=np.int64)) * int(np.prod(w_shape[1:], dtype=np.int64))
        hrnet = int(np.prod(w_shape, dtype=np.int64)) * int(np.prod(y_shape[2:], dtype=np.int64))
        return macs, hrnet * int(y_shape[0])
    # FullyConnected: weight (out, in)
    macs = int(np.prod(y_shape, dtype=np.int64)) * int(w_shape[1])
    return macs, macs


def model_summary(net, input_size=(256, 192), batch_size=1, channels=3):
    """Count parameters and multiply-adds of ``net`` for one input size.

    Parameters
    ----------
    net : mxnet.gluon.HybridBlock
        Any hybridizable network; it need not be initialised (only its graph
        is used, no array is allocated for the weights).
    input_size : tuple of int
        ``(H, W)`` of the input image.
    batch_size : int
        Batch of the input; MACs scale with it, parameters do not.
    channels : int
        Input channels.

    Returns
    -------
    ModelSummary

    Raises
    ------
    ValueError
        ``input_size`` is not two positive integers, or the graph's shapes
        cannot be inferred for it (the message says which).

    Examples
    --------
    >>> from gluonpose.model_zoo import get_model
    >>> s = model_summary(get_model('simple_pose_resnet50_v1b'), (256, 192))
    >>> round(s.mparams, 1), round(s.gflops, 2), round(s.hrnet_gflops, 2)
    (34.0, 5.43, 8.99)
    """
    import mxnet as mx
    try:
        h, w = (int(v) for v in input_size)
    except (TypeError, ValueError):
        raise ValueError("input_size must be (H, W), got %r" % (input_size,)) from None
    if h <= 0 or w <= 0 or int(batch_size) <= 0 or int(channels) <= 0:
        raise ValueError("input_size, batch_size and channels must be positive, got %r, %r, %r"
                         % (input_size, batch_size, channels))
    data_shape = (int(batch_size), int(channels), h, w)
    out = net(mx.sym.var("data"))
    if isinstance(out, (list, tuple)):
        out = mx.sym.Group(list(out))
    internals = out.get_internals()
    try:
        arg_shapes, out_shapes, aux_shapes = out.infer_shape(data=data_shape)
        _, int_shapes, _ = internals.infer_shape(data=data_shape)
    except mx.base.MXNetError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "shape inference failed"
        raise ValueError("cannot infer the shapes of %s for input %s: %s"
                         % (type(net).__name__, "x".join(map(str, data_shape)), first)) from None
    if arg_shapes is None:
        raise ValueError("cannot infer the shapes of %s for input %s"
                         % (type(net).__name__, "x".join(map(str, data_shape))))
    shapes = dict(zip(internals.list_outputs(), int_shapes))
    params = sum(int(np.prod(s, dtype=np.int64))
                 for name, s in zip(out.list_arguments(), arg_shapes) if name != "data")
    aux = sum(int(np.prod(s, dtype=np.int64)) for s in aux_shapes)

    graph = json.loads(out.tojson())
    nodes = graph["nodes"]
    # ops with several outputs name them <name>_output0, _output1, ...
    single = {}
    for i, node in enumerate(nodes):
        if node["op"] != "null":
            single[i] = (node["name"] + "_output") in shapes
    layers = []
    for i, node in enumerate(nodes):
        if node["op"] not in COUNTED_OPS:
            continue
        x_shape = shapes[_entry_key(nodes, node["inputs"][0], single)]
        w_shape = shapes[_entry_key(nodes, node["inputs"][1], single)]
        y_shape = shapes[_entry_key(nodes, [i, 0, 0], single)]
        macs, hrnet = _layer_macs(node["op"], x_shape, w_shape, y_shape)
        layers.append(OrderedDict([("name", node["name"]), ("op", node["op"]),
                                   ("input", tuple(x_shape)), ("output", tuple(y_shape)),
                                   ("weight", tuple(w_shape)), ("macs", macs),
                                   ("hrnet_macs", hrnet)]))
    return ModelSummary(data_shape, out_shapes[0], params, aux, layers)
