"""Sub-pixel up-sampling: pixel shuffle and the DUC block built on it.

Dense Upsampling Convolution (Wang et al., "Understanding Convolution for
Semantic Segmentation", 2018) predicts ``r * r`` sub-pixel values per channel
with an ordinary convolution and rearranges them into an ``r``-times larger
map. Every operation is a convolution or a reshape/transpose, so every
convolution of the head quantises to INT8 (oneDNN fuses each DUC's conv, batch
norm and ReLU) and the head exports to ONNX, unlike a transposed convolution.
The pixel shuffle only moves data (see :class:`PixelShuffle2D` for a faster,
not ONNX-exportable form).
"""
from mxnet import init
from mxnet.gluon import nn

from .block import BatchNormCudnnOff

__all__ = ["PixelShuffle2D", "DUC"]


class PixelShuffle2D(nn.HybridBlock):
    """Rearrange ``(N, C * r * r, H, W)`` into ``(N, C, H * r, W * r)``.

    Output channel ``c`` at sub-pixel ``(i, j)`` comes from input channel
    ``c * r * r + i * r + j`` (PyTorch's ``pixel_shuffle`` order, which is also
    ``mxnet.gluon.contrib.nn.PixelShuffle2D``'s and GluonCV's), so weights
    trained with either framework's block give the same maps here.

    Parameters
    ----------
    factor : int
        Up-sampling factor ``r`` (the same along H and W).
    channels : int, default 0
        Output channels ``C``, when known. With them the shuffle runs as two 4-D
        transposes, which MXNet hands to oneDNN (2-8x faster in a micro-benchmark
        than the one 6-D transpose of the default form, which MXNet runs with its
        generic kernel). Not the default: MXNet 1.9's ONNX exporter rejects the
        reshape codes that form needs (``-4`` in first position). Results are
        identical; the block has no parameters either way.
    """

    def __init__(self, factor=2, channels=0, **kwargs):
        super().__init__(**kwargs)
        self._factor = int(factor)
        self._channels = int(channels or 0)
        if self._factor < 1:
            raise ValueError("PixelShuffle2D factor must be >= 1, got %r" % (factor,))
        if self._channels < 0:
            raise ValueError("PixelShuffle2D channels must be >= 0, got %r" % (channels,))

    def hybrid_forward(self, F, x):
        r, c = self._factor, self._channels
        # only reshape/transpose, which mxnet's ONNX exporter (opset 13) converts
        if c:
            # oneDNN transposes at most 4-D: fold the batch into the leading axis
            x = F.reshape(x, (0, -4, -1, r, 0, 0))        # (N, C*r, r, H, W)
            x = F.reshape(x, (-3, 0, 0, 0))               # (N*C*r, r, H, W)
            x = F.transpose(x, (0, 2, 3, 1))              # (N*C*r, H, W, r)
            x = F.reshape(x, (-4, -1, r, 0, -3))          # (N*C, r, H, W*r)
            x = F.transpose(x, (0, 2, 1, 3))              # (N*C, H, r, W*r)
            return F.reshape(x, (-4, -1, c, -3, 0))       # (N, C, H*r, W*r)
        # (N, C*r*r, H, W) -> (N, C, r, r, H, W) -> (N, C, H, r, W, r) -> (N, C, H*r, W*r)
        x = F.reshape(x, (0, -4, -1, r * r, 0, 0))
        x = F.reshape(x, (0, 0, -4, r, r, 0, 0))
        x = F.transpose(x, (0, 1, 4, 2, 5, 3))
        return F.reshape(x, (0, 0, -3, -3))

    def __repr__(self):
        return "%s(factor=%d%s)" % (type(self).__name__, self._factor,
                                    ", channels=%d" % self._channels if self._channels else "")


class DUC(nn.HybridBlock):
    """3x3 convolution -> batch norm -> ReLU -> pixel shuffle.

    The children are ``conv``, ``bn``, ``relu`` and ``pixel_shuffle``, the names
    GluonCV's ``DUC`` and AlphaPose's give them, so their weight files load.

    Parameters
    ----------
    planes : int
        Output channels of the convolution; the block returns
        ``planes / factor**2`` channels at ``factor`` times the resolution.
    factor : int, default 2
        Pixel-shuffle factor (``upscale_factor`` in GluonCV).
    in_channels : int, default 0
        Input channels (0: inferred at the first forward).
    norm_layer : type, default BatchNormCudnnOff
        Normalisation block (plain ``nn.BatchNorm`` has the same parameters).
    norm_kwargs : dict, optional
        Extra arguments of ``norm_layer``.
    conv_initializer : Initializer, optional
        Weight initialiser of the convolution (default: the global one).
    gamma_initializer : Initializer, default One()
        Initialiser of the batch norm's scale.
    """

    def __init__(self, planes, factor=2, in_channels=0, norm_layer=BatchNormCudnnOff,
                 norm_kwargs=None, conv_initializer=None, gamma_initializer=None, **kwargs):
        upscale = kwargs.pop("upscale_factor", None)     # GluonCV's keyword
        super().__init__(**kwargs)
        factor = int(upscale if upscale is not None else factor)
        if planes % (factor * factor):
            raise ValueError("DUC planes=%d is not divisible by factor**2=%d"
                             % (planes, factor * factor))
        with self.name_scope():
            self.conv = nn.Conv2D(planes, kernel_size=3, padding=1, use_bias=False,
                                  in_channels=in_channels, weight_initializer=conv_initializer)
            self.bn = norm_layer(gamma_initializer=gamma_initializer or init.One(),
                                 beta_initializer=init.Zero(), in_channels=planes,
                                 **(norm_kwargs or {}))
            self.relu = nn.Activation("relu")
            self.pixel_shuffle = PixelShuffle2D(factor)

    def hybrid_forward(self, F, x):
        return self.pixel_shuffle(self.relu(self.bn(self.conv(x))))
