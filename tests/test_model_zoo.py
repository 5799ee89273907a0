"""Model zoo: registry behaviour and weight compatibility with GluonCV (the oracle)."""
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from gluonpose.model_zoo import get_model, get_model_list
from gluonpose.model_zoo.simple_pose import SIMPLE_POSE_BASES
from gluonpose.nn import BatchNormCudnnOff

gcv_zoo = pytest.importorskip("gluoncv.model_zoo", reason="gluoncv is the reference oracle")

SIMPLE_POSE_NAMES = ["simple_pose_" + b for b in SIMPLE_POSE_BASES]
BACKBONE_NAMES = list(SIMPLE_POSE_BASES)


def randomize(net, seed):
    """Give every parameter well-scaled random values (BN statistics included).

    The factories' own initialisation leaves heatmaps around 1e-5, where a wrong
    wiring could hide under a 1e-5 tolerance; random statistics and affine terms
    make every layer matter.
    """
    rng = np.random.RandomState(seed)
    for name, param in sorted(net._collect_params_with_prefix().items()):
        shape = param.shape
        if name.endswith("running_var"):
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("gamma",)):
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("beta", "running_mean", "bias")):
            value = rng.uniform(-0.2, 0.2, shape)
        else:  # conv / dense weights, He-style so activations stay O(1)
            fan_in = np.prod(shape[1:]) if len(shape) > 1 else shape[0]
            if "deconv" in name:  # Conv2DTranspose weights are (in, out, kh, kw)
                fan_in = shape[0] * np.prod(shape[2:]) / 4.0
            value = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
        param.set_data(mx.nd.array(value, dtype=param.dtype))


def forward_both_modes(net, x):
    """Inference-mode and training-mode (batch statistics) outputs."""
    infer = net(x).asnumpy()
    # a fixed seed gives two nets the same dropout masks (MobileNetV3 classifiers)
    mx.random.seed(0)
    with autograd.record(train_mode=True):
        train = net(x)
    return infer, train.asnumpy()


def build_initialized(net, seed):
    with warnings.catch_warnings():
        # some factories (alpha_pose) return initialised nets; skipping those params is fine
        warnings.filterwarnings("ignore", message=".*already initialized.*")
        net.initialize()
    net(mx.nd.zeros((1, 3, 64, 64)))  # resolve GluonCV's deferred shapes
    randomize(net, seed)
    return net


def assert_same_outputs(ours, theirs, x):
    ours_infer, ours_train = forward_both_modes(ours, x)
    ref_infer, ref_train = forward_both_modes(theirs, x)
    assert ours_infer.shape == ref_infer.shape
    # the comparison only means something if the outputs are not all ~0
    assert np.abs(ref_infer).max() > 1e-2 and np.abs(ref_train).max() > 1e-2
    assert np.abs(ours_infer - ref_infer).max() <= 1e-5 * max(1.0, np.abs(ref_infer).max())
    assert np.abs(ours_train - ref_train).max() <= 1e-5 * max(1.0, np.abs(ref_train).max())


def structural_keys(path):
    return sorted(mx.nd.load(path).keys())


def check_params_move_both_ways(name, tmp_path, seed, gcv_kwargs=None, dtype="float32",
                                **our_kwargs):
    """GluonCV -> gluonpose and gluonpose -> GluonCV through ``.params`` files.

    ``gcv_kwargs`` go to GluonCV's ``get_model`` (e.g. ``pretrained_base=False`` for
    factories that would otherwise download). ``dtype='float64'`` compares the
    outputs in double precision (files stay float32): for nets whose float32
    training-mode output is ill-conditioned (batch statistics over a few pixels
    through 100 layers amplify rounding, so float32 disagrees with float64 by
    more than the tolerance even for GluonCV against itself), while any wiring
    difference still shows. Returns the gluonpose net loaded from GluonCV's file
    and the test input, both in ``dtype``.
    """
    gcv_kwargs = dict(gcv_kwargs or {})
    x = mx.nd.array(np.random.RandomState(seed).uniform(-2, 2, (2, 3, 64, 64)), dtype=dtype)
    theirs = build_initialized(gcv_zoo.get_model(name, **gcv_kwargs), seed=seed + 1)
    gcv_file = str(tmp_path / "gluoncv.params")
    theirs.save_parameters(gcv_file)
    ours = get_model(name, **our_kwargs)
    ours.load_parameters(gcv_file)
    if dtype != "float32":
        ours.cast(dtype)
        theirs.cast(dtype)
    assert_same_outputs(ours, theirs, x)

    # the other way, from weights that GluonCV never saw
    ours2 = build_initialized(get_model(name, **our_kwargs), seed=seed + 2)
    our_file = str(tmp_path / "gluonpose.params")
    ours2.save_parameters(our_file)
    assert structural_keys(our_file) == structural_keys(gcv_file)
    theirs2 = gcv_zoo.get_model(name, **gcv_kwargs)
    theirs2.load_parameters(our_file)
    if dtype != "float32":
        ours2.cast(dtype)
        theirs2.cast(dtype)
    assert_same_outputs(ours2, theirs2, x)
    return ours, x


@pytest.mark.parametrize("name", SIMPLE_POSE_NAMES)
def test_simple_pose_loads_gluoncv_params_and_back(name, tmp_path):
    ours, x = check_params_move_both_ways(name, tmp_path, seed=0)
    assert ours(x).shape == (2, 17, 16, 16)


@pytest.mark.parametrize("name", BACKBONE_NAMES)
def test_imagenet_backbone_files_load_both_ways(name, tmp_path):
    """The ImageNet files behind ``pretrained_base`` load into the cudnn-off trunk."""
    ours, x = check_params_move_both_ways(name, tmp_path, seed=3, norm_layer=BatchNormCudnnOff)
    assert ours(x).shape == (2, 1000)


def test_registry_lists_gluoncv_names_and_rejects_unknown():
    names = get_model_list()
    for name in SIMPLE_POSE_NAMES + BACKBONE_NAMES:
        assert name in names
        assert name in gcv_zoo.get_model_list()
    assert get_model("Simple_Pose_ResNet18_V1B").__class__.__name__ == "SimplePoseResNet"
    with pytest.raises(ValueError, match="simple_pose_resnet18_v1b"):
        get_model("simple_pose_resnet18")
    with pytest.raises(ValueError, match="not in gluonpose's model zoo"):
        get_model("yolo3_darknet53_coco")


def test_simple_pose_head_options_and_initialisation():
    net = get_model("simple_pose_resnet18_v1b", num_joints=5, num_deconv_layers=2,
                    num_deconv_filters=(64, 32), num_deconv_kernels=(3, 2), final_conv_kernel=3)
    net.initialize(mx.init.MSRAPrelu())
    out = net(mx.nd.zeros((1, 3, 128, 96)))
    # two doublings from stride 32 -> stride 8
    assert out.shape == (1, 5, 16, 12)
    params = net._collect_params_with_prefix()
    assert params["final_layer.weight"].shape == (5, 32, 3, 3)
    assert params["deconv_layers.3.weight"].shape == (64, 32, 2, 2)
    # GluonCV's head initialisation: Normal(0.001) weights, zero bias, BN gamma 1 / beta 0,
    # even when the caller's global initializer is MSRAPrelu
    std = params["deconv_layers.0.weight"].data().asnumpy().std()
    assert 0.0008 < std < 0.0012
    assert np.all(params["final_layer.bias"].data().asnumpy() == 0)
    assert np.all(params["deconv_layers.1.gamma"].data().asnumpy() == 1)
    assert np.all(params["deconv_layers.1.beta"].data().asnumpy() == 0)
    # the trunk follows the global initializer (MSRAPrelu: much wider than 0.001)
    assert params["resnet.0.weight"].data().asnumpy().std() > 0.01
    with pytest.raises(ValueError, match="num_deconv_layers=3"):
        get_model("simple_pose_resnet18_v1b", num_deconv_filters=(256, 256))


def test_hybridized_forward_matches_imperative():
    net = build_initialized(get_model("simple_pose_resnet18_v1b"), seed=6)
    x = mx.nd.array(np.random.RandomState(7).uniform(-1, 1, (1, 3, 64, 48)))
    eager = net(x).asnumpy()
    net.hybridize(static_alloc=True, static_shape=True)
    hybrid = net(x).asnumpy()
    assert np.abs(eager - hybrid).max() <= 1e-5 * max(1.0, np.abs(eager).max())
    # BatchNormCudnnOff is used in the trunk and the head
    norms = [b for b in net.resnet[1:2]] + [net.deconv_layers[1]]
    assert all(isinstance(b, BatchNormCudnnOff) for b in norms)


def test_multiple_contexts():
    ctx = [mx.cpu(0), mx.cpu(1)]
    net = get_model("simple_pose_resnet18_v1b")
    net.initialize(ctx=ctx)
    outs = [net(mx.nd.ones((1, 3, 64, 64), ctx=c)) for c in ctx]
    assert outs[0].context == ctx[0] and outs[1].context == ctx[1]
    np.testing.assert_allclose(outs[0].asnumpy(), outs[1].asnumpy(), rtol=1e-6)
