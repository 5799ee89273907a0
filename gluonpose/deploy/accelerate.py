"""CPU inference settings GluonCV does not apply by default.

:func:`optimize_for_cpu` hybridizes a network with ``static_alloc`` and
``static_shape`` (one memory plan, no re-planning per call) and, when MXNet
was built with oneDNN (MKLDNN), partitions the graph with the ``MKLDNN``
subgraph backend: each convolution is fused with the batch norm folded into
its weights, the ReLU and the residual add that follow it, so a ResNet block
runs as two or three oneDNN primitives instead of six to eight operators.
Outputs equal the plain network's to float rounding.
"""
import mxnet as mx

__all__ = ["optimize_for_cpu", "has_onednn"]


def has_onednn():
    """Whether this MXNet has oneDNN (MKLDNN) kernels."""
    try:
        from mxnet.runtime import Features
        return Features().is_enabled("MKLDNN")
    except Exception:     # pragma: no cover - very old MXNet
        return False


def optimize_for_cpu(net, input_shape, ctx=None):
    """Prepare an initialised HybridBlock for fast CPU inference (in place).

    Parameters
    ----------
    net : mxnet.gluon.HybridBlock
    input_shape : tuple of int
        ``(N, 3, H, W)`` used to build the fused graph (other batch sizes work,
        at the cost of one re-plan per new shape).
    ctx : Context, optional
        Default ``mx.cpu()``.

    Returns
    -------
    mxnet.gluon.HybridBlock
        ``net`` itself.
    """
    ctx = ctx or mx.cpu()
    x = mx.nd.zeros(input_shape, ctx=ctx)
    if has_onednn() and ctx.device_type == "cpu":
        net.optimize_for(x, backend="MKLDNN", static_alloc=True, static_shape=True)
    else:
        net.hybridize(static_alloc=True, static_shape=True)
    net(x).wait_to_read()
    return net
