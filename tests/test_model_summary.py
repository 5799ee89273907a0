"""model_summary: parameter and multiply-add counts from the symbol graph.

References: a hand count on a tiny net; the exact parameter counts of the
ResNets (torchvision's resnet18/resnet50 have the same layers: 11,689,512 and
25,557,032 parameters, 1.81 and 4.09 GFLOPs at 224x224 in its model table);
the Simple Baselines figures quoted from the HRNet paper's Table 1 (ResNet-50
256x192: 34.0 M parameters, 8.9 GFLOPs; ResNet-101: 53.0 M, 12.4; ResNet-152:
68.6 M, 15.7), which the HRNet counting convention must reproduce.
"""
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

from gluonpose.model_zoo import get_model
from gluonpose.utils.model_summary import model_summary


def _tiny():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, padding=1, in_channels=2))                    # 8x8 out
        net.add(nn.BatchNorm(in_channels=4))
        net.add(nn.Conv2D(6, 3, strides=2, padding=1, groups=2, in_channels=4))  # 4x4 out
        net.add(nn.Conv2DTranspose(3, 4, strides=2, padding=1, in_channels=6))   # 8x8 out
        net.add(nn.Dense(5, in_units=3 * 8 * 8))
    return net


def test_tiny_net_hand_count():
    s = model_summary(_tiny(), (8, 8), channels=2)
    conv1 = (4 * 8 * 8) * (2 * 3 * 3)            # output elements x C_in x k x k
    conv2 = (6 * 4 * 4) * (4 // 2 * 3 * 3)       # grouped: C_in / groups
    deconv = (6 * 4 * 4) * (3 * 4 * 4)           # input elements x C_out x k x k
    dense = (3 * 8 * 8) * 5
    assert [r["macs"] for r in s.layers] == [conv1, conv2, deconv, dense]
    assert s.macs == conv1 + conv2 + deconv + dense == 11904
    assert s.gflops == pytest.approx(11904 / 1e9)
    # the HRNet convention counts the transposed conv as weight size x output positions (4x)
    assert s.layers[2]["hrnet_macs"] == (6 * 3 * 4 * 4) * (8 * 8) == 4 * deconv
    assert s.hrnet_gflops == pytest.approx((s.macs + 3 * deconv) / 2 ** 30)
    params = (4 * 2 * 9 + 4) + (4 + 4) + (6 * 2 * 9 + 6) + (6 * 3 * 16 + 3) + (192 * 5 + 5)
    assert s.params == params
    assert s.aux_params == 8                      # BN running mean and variance
    assert s.input_shape == (1, 2, 8, 8) and s.output_shape == (1, 5)
    assert s.by_op() == {"Convolution": conv1 + conv2, "Deconvolution": deconv,
                         "FullyConnected": dense}


def test_params_match_an_initialised_network():
    net = _tiny()
    net.initialize()
    net(mx.nd.zeros((1, 2, 8, 8)))
    learnable = sum(int(np.prod(p.shape)) for p in net.collect_params().values()
                    if p.grad_req != "null")
    assert model_summary(net, (8, 8), channels=2).params == learnable


def test_batch_scales_macs_not_params():
    one = model_summary(_tiny(), (8, 8), channels=2)
    two = model_summary(_tiny(), (8, 8), batch_size=2, channels=2)
    assert two.macs == 2 * one.macs and two.params == one.params


@pytest.mark.parametrize("name, params, gmacs", [("resnet18_v1b", 11689512, 1.81),
                                                 ("resnet50_v1b", 25557032, 4.09)])
def test_resnet_reference_figures(name, params, gmacs):
    s = model_summary(get_model(name), (224, 224))
    assert s.params == params
    assert round(s.gflops, 2) == gmacs


@pytest.mark.parametrize("name, mparams, paper_gflops", [
    ("simple_pose_resnet50_v1b", 34.0, 8.9),
    ("simple_pose_resnet101_v1b", 53.0, 12.4),
    ("simple_pose_resnet152_v1b", 68.6, 15.7)])
def test_simple_baselines_paper_figures(name, mparams, paper_gflops):
    s = model_summary(get_model(name), (256, 192))
    assert round(s.mparams, 1) == mparams
    assert abs(s.hrnet_gflops - paper_gflops) < 0.1
    # the real multiply-add count: the three transposed convs cost a quarter of the paper's count
    head = sum(r["macs"] for r in s.layers if r["op"] == "Deconvolution")
    assert head == (512 * 4 * 8 * 6 * 256 * 16 + 256 * 16 * 12 * 256 * 16
                    + 256 * 32 * 24 * 256 * 16)
    assert s.gflops < s.hrnet_gflops


def test_resnet50_simple_pose_gflops():
    s = model_summary(get_model("simple_pose_resnet50_v1b"), (256, 192))
    assert round(s.gflops, 2) == 5.43
    assert s.output_shape == (1, 17, 64, 48)


@pytest.mark.parametrize("size", [(0, 192), ("a", 3), (256,)])
def test_bad_input_size(size):
    with pytest.raises(ValueError, match="input_size"):
        model_summary(_tiny(), size)


def test_impossible_shape_names_the_network():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 5, in_channels=3))       # a 5x5 kernel on a 2x2 input
    with pytest.raises(ValueError, match="HybridSequential"):
        model_summary(net, (2, 2))
