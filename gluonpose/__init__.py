"""gluonpose: 2D human pose estimation on MXNet Gluon, compatible with GluonCV's pose zoo."""
from ._env import check_single_mxnet as _check_single_mxnet
from ._version import __version__

_check_single_mxnet()

from . import data, model_zoo, nn, utils  # noqa: E402  (after the environment check)
from .model_zoo import get_model, get_model_list  # noqa: E402


__all__ = ["data", "model_zoo", "nn", "utils", "get_model", "get_model_list", "Predictor",
           "__version__"]


def __getattr__(name):
    # the Predictor is imported on first use, so ``import gluonpose`` stays cheap
    if name == "Predictor":
        from .inference import Predictor
        return Predictor
    raise AttributeError("module 'gluonpose' has no attribute %r" % name)
