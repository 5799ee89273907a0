"""Building blocks shared by the model families."""
from .block import BatchNormCudnnOff

__all__ = ["BatchNormCudnnOff"]
