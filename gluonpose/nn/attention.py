"""Channel attention: the squeeze-and-excitation block (Hu, Shen and Sun, CVPR 2018)."""
from mxnet.gluon import nn

__all__ = ["SELayer"]


class SELayer(nn.HybridBlock):
    """Scale each channel by a gate computed from the globally pooled features.

    ``x * sigmoid(fc2(relu(fc1(mean_hw(x)))))``. The two dense layers sit at
    ``fc.0`` and ``fc.2`` (``fc.1`` is the ReLU), the structural names of
    GluonCV's and AlphaPose's ``SELayer``, so their FastPose weights load.

    Parameters
    ----------
    channels : int
        Channels of the input (and of the gate).
    reduction : int, default 1
        Width of the bottleneck is ``channels // reduction`` (FastPose uses 1).
    dense_initializer : Initializer, optional
        Weight initialiser of the two dense layers (default: the global one).
    """

    def __init__(self, channels, reduction=1, dense_initializer=None, **kwargs):
        super().__init__(**kwargs)
        hidden = max(int(channels) // int(reduction), 1)
        with self.name_scope():
            self.fc = nn.HybridSequential(prefix="fc_")
            with self.fc.name_scope():
                self.fc.add(nn.Dense(hidden, in_units=channels,
                                     weight_initializer=dense_initializer))
                self.fc.add(nn.Activation("relu"))
                self.fc.add(nn.Dense(channels, activation="sigmoid", in_units=hidden,
                                     weight_initializer=dense_initializer))

    def hybrid_forward(self, F, x):
        # global average pooling rather than F.mean: it exports to ONNX as
        # GlobalAveragePool (mxnet's mean converter writes a ReduceMean that onnx
        # 1.14's checker rejects at opset 13); Dense flattens (N, C, 1, 1) to (N, C)
        pooled = F.Pooling(x, kernel=(1, 1), global_pool=True, pool_type="avg")
        gate = self.fc(pooled)                            # (N, C)
        return F.broadcast_mul(x, F.expand_dims(F.expand_dims(gate, axis=2), axis=3))
