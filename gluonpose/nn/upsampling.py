"""Sub-pixel up-sampling: pixel shuffle and the DUC block built on it.

Dense Upsampling Convolution (Wang et al., "Understanding Convolution for
Semantic Segmentation", 2018) predicts ``r * r`` sub-pixel values per channel
with an ordinary convolution and rearranges them into an ``r``-times larger
map. Every operation is a convolution or a reshape, so the whole head
quantises to INT8 and exports to ONNX, unlike a transposed convolution.
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
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self._factor = int(factor)
        if self._factor < 1:
            raise ValueError("PixelShuffle2D factor must be >= 1, got %r" % (factor,))

    def hybrid_forward(self, F, x):
        r = self._factor
        # (N, C*r*r, H, W) -> (N, C, r, r, H, W) -> (N, C, H, r, W, r) -> (N, C, H*r, W*r);
        # only reshape/transpose, which mxnet's ONNX exporter (opset 13) converts
        x = F.reshape(x, (0, -4, -1, r * r, 0, 0))
        x = F.reshape(x, (0, 0, -4, r, r, 0, 0))
        x = F.transpose(x, (0, 1, 4, 2, 5, 3))
        return F.reshape(x, (0, 0, -3, -3))

    def __repr__(self):
        return "%s(factor=%d)" % (type(self).__name__, self._factor)


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
