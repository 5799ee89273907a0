"""Building blocks shared by the model families."""
from .attention import SELayer
from .block import BatchNormCudnnOff
from .upsampling import DUC, PixelShuffle2D

__all__ = ["BatchNormCudnnOff", "DUC", "PixelShuffle2D", "SELayer"]
