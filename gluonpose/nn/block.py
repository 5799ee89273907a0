"""Normalisation blocks shared by the pose networks."""
from mxnet.gluon import nn

__all__ = ["BatchNormCudnnOff"]


class BatchNormCudnnOff(nn.BatchNorm):
    """Batch normalisation that never takes cuDNN's kernel.

    The Simple Baselines authors found cuDNN's batch-norm kernel hurt pose
    training on GPU, so GluonCV's pose nets run MXNet's own kernel instead. The
    parameters (``gamma``, ``beta``, ``running_mean``, ``running_var``) and
    their defaults are exactly those of :class:`mxnet.gluon.nn.BatchNorm`, so
    weight files move freely between the two; on CPU the two are identical.
    """

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        return F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd",
                           cudnn_off=True, **self._kwargs)
