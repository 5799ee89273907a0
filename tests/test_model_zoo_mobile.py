"""MobileNet backbones and MobilePose: structure, registry, weight compatibility with GluonCV."""
import mxnet as mx
import numpy as np
import pytest

from gluonpose.model_zoo import get_model, get_model_list, get_model_spec, get_pose_model_list
from gluonpose.model_zoo.mobile_pose import MOBILE_POSE_BASES, MobilePose
from gluonpose.model_zoo.mobilenet import MOBILENET_TRUNKS, get_mobilenet_trunk
from gluonpose.nn import DUC, BatchNormCudnnOff

# the simple_pose tests' helpers (tests/ is on sys.path under pytest)
from test_model_zoo import build_initialized, check_params_move_both_ways, gcv_zoo

MOBILE_POSE_NAMES = ["mobile_pose_" + b for b in MOBILE_POSE_BASES]
MOBILENET_NAMES = list(MOBILENET_TRUNKS)

#: facts §1.7.3 (17 joints): arrays in the .params file, trainable arrays, scalars,
#: trainable scalars
ARRAY_COUNTS = {
    "mobile_pose_resnet18_v1b": (117, 71, 12869600, 12858208),
    "mobile_pose_resnet50_v1b": (282, 170, 25637856, 25582944),
    "mobile_pose_mobilenet1.0": (152, 92, 5043424, 5019744),
    "mobile_pose_mobilenetv2_1.0": (277, 167, 4138080, 4102176),
    "mobile_pose_mobilenetv3_large": (279, 181, 4794528, 4768336),
    "mobile_pose_mobilenetv3_small": (223, 149, 2638992, 2625088),
}


@pytest.mark.parametrize("name", MOBILE_POSE_NAMES)
def test_mobile_pose_loads_gluoncv_params_and_back(name, tmp_path):
    ours, x = check_params_move_both_ways(name, tmp_path, seed=10)
    assert ours(x).shape == (2, 17, 16, 16)


@pytest.mark.parametrize("name", MOBILENET_NAMES)
def test_mobilenet_imagenet_files_load_both_ways(name, tmp_path):
    """GluonCV's ImageNet classifier files (behind ``pretrained_base``) move both ways."""
    ours, x = check_params_move_both_ways(name, tmp_path, seed=20)
    assert ours(x).shape == (2, 1000)


@pytest.mark.parametrize("name", sorted(ARRAY_COUNTS))
def test_array_counts_match_gluoncv_files(name, tmp_path):
    net = get_model(name)
    net.initialize()
    params = net._collect_params_with_prefix()
    trainable = [p for p in params.values() if p.grad_req != "null"]
    counts = (len(params), len(trainable), sum(int(np.prod(p.shape)) for p in params.values()),
              sum(int(np.prod(p.shape)) for p in trainable))
    assert counts == ARRAY_COUNTS[name]
    # every shape is known without a forward pass (no deferred initialisation)
    path = str(tmp_path / "net.params")
    net.save_parameters(path)
    assert len(mx.nd.load(path)) == ARRAY_COUNTS[name][0]


def test_output_shape_at_default_input_and_head_initialisation():
    net = get_model("mobile_pose_mobilenetv3_small")
    assert isinstance(net, MobilePose) and net.pose_spec.family == "mobile_pose"
    net.initialize(mx.init.MSRAPrelu())
    assert net(mx.nd.zeros((2, 3, 256, 192))).shape == (2, 17, 64, 48)
    params = net._collect_params_with_prefix()
    # GluonCV's head: 1x1 (no bias) -> DUC(512, 256, 128) -> 1x1 (no bias, Normal(0.001))
    assert params["upsampling.0.weight"].shape == (256, 576, 1, 1)
    assert [params["upsampling.%d.conv.weight" % i].shape for i in (1, 2, 3)] == \
        [(512, 256, 3, 3), (256, 128, 3, 3), (128, 64, 3, 3)]
    assert params["upsampling.4.weight"].shape == (17, 32, 1, 1)
    assert not any(k.startswith("upsampling.") and k.endswith(".bias") for k in params)
    assert 0.0008 < params["upsampling.4.weight"].data().asnumpy().std() < 0.0012
    assert all(isinstance(net.upsampling[i], DUC) for i in (1, 2, 3))
    assert isinstance(net.upsampling[1].bn, BatchNormCudnnOff)
    assert np.all(params["upsampling.1.bn.gamma"].data().asnumpy() == 1)
    # the trunk follows the caller's initializer
    assert params["features.0.0.weight"].data().asnumpy().std() > 0.01


def test_num_joints_and_hybridized_forward():
    net = build_initialized(get_model("mobile_pose_mobilenetv2_1.0", num_joints=5), seed=30)
    # sides must be multiples of 32 (the trunk's stride) for an exact stride-4 output
    x = mx.nd.array(np.random.RandomState(31).uniform(-1, 1, (1, 3, 64, 32)))
    eager = net(x).asnumpy()
    assert eager.shape == (1, 5, 16, 8)
    net.hybridize(static_alloc=True, static_shape=True)
    hybrid = net(x).asnumpy()
    assert np.abs(eager - hybrid).max() <= 1e-5 * max(1.0, np.abs(eager).max())


@pytest.mark.parametrize("base, channels, keep", [
    ("mobilenet1.0", 1024, 81), ("mobilenetv2_1.0", 1280, 23), ("mobilenetv3_large", 960, 21),
    ("mobilenetv3_small", 576, 17), ("resnet18_v1b", 512, 8), ("resnet50_v1b", 2048, 8)])
def test_mobilenet_trunk(base, channels, keep):
    trunk, out_channels = get_mobilenet_trunk(base, norm_layer=BatchNormCudnnOff)
    assert isinstance(trunk, mx.gluon.nn.HybridSequential)
    assert out_channels == channels and len(trunk) == keep
    assert any(isinstance(b, BatchNormCudnnOff) for b in trunk)
    trunk.initialize()
    assert trunk(mx.nd.zeros((1, 3, 64, 32))).shape == (1, channels, 2, 1)


def test_registry_specs_and_unknown_base():
    names = get_model_list()
    pose = get_pose_model_list()
    for name in MOBILE_POSE_NAMES + MOBILENET_NAMES:
        assert name in names and name in gcv_zoo.get_model_list()
    for name in MOBILE_POSE_NAMES:
        spec = get_model_spec(name)
        assert name in pose and spec.family == "mobile_pose"
        assert tuple(spec.input_size) == (256, 192) and spec.stride == 4
    for name in MOBILENET_NAMES:
        assert get_model_spec(name) is None and name not in pose
    with pytest.raises(ValueError, match="mobilenetv3_small"):
        MobilePose("mobilenetv3_tiny")
    with pytest.raises(ValueError, match="no trunk"):
        get_mobilenet_trunk("vgg16")


def test_pretrained_base_loads_gluoncv_imagenet_file(clean_store_env, server, tmp_path,
                                                      monkeypatch):
    """GluonCV's ``mobilenetv3_small`` ImageNet file, from a local mirror, becomes the trunk."""
    from gluonpose.model_zoo.publish import publish
    base = build_initialized(gcv_zoo.get_model("mobilenetv3_small"), seed=40)
    base_file = tmp_path / "mobilenetv3_small.params"
    base.save_parameters(str(base_file))
    publish(str(base_file), "mobilenetv3_small", str(server.dir))
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)

    net = get_model("mobile_pose_mobilenetv3_small", pretrained_base=True,
                    root=str(tmp_path / "cache"))
    assert len(server.zip_requests()) == 1
    ours = {k: v for k, v in net._collect_params_with_prefix().items()
            if k.startswith("features.")}
    theirs = base._collect_params_with_prefix()
    # the trunk keeps features.0 .. features.16; the 1x1 expand conv and classifier stay behind
    assert len(ours) == len(theirs) - 3
    for key, param in ours.items():
        their_key = "features." + key[len("features.0."):]   # the slice sits at features.0
        np.testing.assert_array_equal(param.data().asnumpy(), theirs[their_key].data().asnumpy())
    # the head is still uninitialised, as in GluonCV; initialise it and run
    net.upsampling.initialize()
    assert net(mx.nd.zeros((1, 3, 64, 32))).shape == (1, 17, 16, 8)
