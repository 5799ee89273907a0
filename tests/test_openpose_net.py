"""OpenPose networks (CMU VGG-19 and Lightweight OpenPose) and their bottom-up spec."""
import hashlib
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from gluonpose.model_zoo import (BottomUpSpec, LrMultRule, SupervisedOutput, apply_lr_mult,
                                 get_model, get_model_spec, get_pose_model_list, spec_of)
from gluonpose.model_zoo.openpose import (OPENPOSE18_LIMBS, OPENPOSE18_PARTS, OpenPoseLight,
                                          OpenPoseVGG19, openpose_spec)
from gluonpose.model_zoo.spec import lr_mult_of

CMU = "openpose_vgg19_coco"
LIGHT = "openpose_mobilenet_light_coco"


def randomize(net, seed):
    """He-scaled weights, small random biases and BN terms, so every layer matters."""
    mx.random.seed(seed)
    for name, param in sorted(net._collect_params_with_prefix().items()):
        shape = param.shape
        if name.endswith(("running_var", "gamma")):
            value = mx.nd.random.uniform(0.5, 1.5, shape)
        elif name.endswith(("beta", "running_mean", "bias")):
            value = mx.nd.random.uniform(-0.1, 0.1, shape)
        else:
            value = mx.nd.random.normal(0, float(np.sqrt(2.0 / np.prod(shape[1:]))), shape)
        param.set_data(value)
    return net


@pytest.fixture(scope="module")
def nets():
    out = {}
    for seed, name in enumerate((CMU, LIGHT)):
        net = get_model(name)
        net.initialize()
        out[name] = randomize(net, seed)
    return out


def _x(shape, seed=0):
    return mx.nd.array(np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32))


# ------------------------------------------------------------------------------------------
# shapes and modes


@pytest.mark.parametrize("name,stages", [(CMU, 6), (LIGHT, 2)])
def test_output_shapes_per_stage(nets, name, stages):
    spec = get_model_spec(name)
    outs = nets[name](_x((2, 3, 64, 48)))
    assert isinstance(outs, tuple) and len(outs) == 2 * stages == len(spec.outputs)
    for pos, (o, arr) in enumerate(zip(spec.outputs, outs)):
        assert o.index == pos
        channels = 38 if pos % 2 == 0 else 19
        assert spec.channels_of(o) == channels
        assert arr.shape == (2, channels, 8, 6), (o.name, arr.shape)
    paf, heat = spec.decoded(outs)
    assert paf is outs[-2] and heat is outs[-1]
    assert len(spec.supervised(outs)) == 2 * stages


def test_light_net_runs_at_small_inputs_and_options():
    net = OpenPoseLight(num_refinement_stages=3)
    net.initialize()
    outs = net(mx.nd.zeros((1, 3, 192, 256)))
    assert len(outs) == 8 and outs[-1].shape == (1, 19, 24, 32)
    net = OpenPoseVGG19(num_stages=2, num_heatmaps=5, num_pafs=8)
    net.initialize()
    assert [o.shape[1] for o in net(mx.nd.zeros((1, 3, 16, 16)))] == [8, 5, 8, 5]
    with pytest.raises(ValueError, match="num_stages"):
        OpenPoseVGG19(num_stages=0)


@pytest.mark.parametrize("name", [CMU, LIGHT])
def test_hybridized_forward_matches_imperative(name):
    # two stages: stages 2..6 are the same block, and the 6-stage graph's first run is slow
    net = get_model(name, num_stages=2) if name == CMU else get_model(name)
    net.initialize()
    randomize(net, 5)
    x = _x((1, 3, 64, 64), seed=1)
    eager = [o.asnumpy() for o in net(x)]
    assert max(np.abs(e).max() for e in eager) > 1e-2
    net.hybridize(static_alloc=True, static_shape=True)
    hybrid = [o.asnumpy() for o in net(x)]
    for e, h in zip(eager, hybrid):
        assert np.abs(e - h).max() <= 1e-4 * max(1.0, np.abs(e).max())


@pytest.mark.parametrize("name", [CMU, LIGHT])
def test_gradient_reaches_every_stage(nets, name):
    net = nets[name]
    params = net._collect_params_with_prefix()
    with autograd.record():
        outs = net(_x((1, 3, 32, 32), seed=2))
        loss = sum((o * o).sum() for o in outs)
    loss.backward()
    stages = {k.split(".")[0] for k in params}
    assert {"features", "cpm", "stage1", "stage2"} <= stages
    dead = [k for k, p in params.items()
            if p.grad_req != "null" and not np.abs(p.grad().asnumpy()).sum() > 0]
    assert not dead, dead


def test_initialisation_of_the_cmu_layers():
    net = get_model(CMU, num_stages=2)
    net.initialize(mx.init.MSRAPrelu())
    params = net._collect_params_with_prefix()
    for key in ("cpm.0.weight", "stage1.paf.0.weight", "stage2.heat.12.weight"):
        std = params[key].data().asnumpy().std()
        assert 0.008 < std < 0.012, (key, std)
        assert not params[key.replace("weight", "bias")].data().asnumpy().any()
    # the VGG front follows the global initializer (MSRAPrelu: much wider)
    assert params["features.0.weight"].data().asnumpy().std() > 0.05


# ------------------------------------------------------------------------------------------
# parameter count from the layer table


def test_cmu_parameter_count_equals_the_layer_table():
    def conv(c_in, c_out, k):
        return c_in * c_out * k * k + c_out          # every conv has a bias

    vgg = (conv(3, 64, 3) + conv(64, 64, 3) + conv(64, 128, 3) + conv(128, 128, 3)
           + conv(128, 256, 3) + 3 * conv(256, 256, 3) + conv(256, 512, 3) + conv(512, 512, 3))
    cpm = conv(512, 256, 3) + conv(256, 128, 3)
    stage1 = sum(3 * conv(128, 128, 3) + conv(128, 512, 1) + conv(512, out, 1)
                 for out in (38, 19))
    stage_t = sum(conv(185, 128, 7) + 4 * conv(128, 128, 7) + conv(128, 128, 1)
                  + conv(128, out, 1) for out in (38, 19))
    expected = vgg + cpm + stage1 + 5 * stage_t
    assert (vgg, cpm, stage1, stage_t) == (5865536, 1474944, 1046841, 8784825)
    assert expected == 52311446                      # ~52.3 M, the published figure
    net = get_model(CMU)                             # shapes are known before initialisation
    assert sum(int(np.prod(p.shape)) for p in net.collect_params().values()) == expected


def test_reference_checkpoint_layout():
    """Slot indices of the PyTorch reference's keys (model0.*, model<t>_<b>.*)."""
    params = get_model(CMU)._collect_params_with_prefix()
    convs = sorted(int(k.split(".")[1]) for k in params if k.startswith("features.")
                   and k.endswith("weight"))
    assert convs == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21]
    assert params["features.21.weight"].shape == (512, 512, 3, 3)
    assert params["cpm.0.weight"].shape == (256, 512, 3, 3)
    assert params["cpm.2.weight"].shape == (128, 256, 3, 3)
    assert params["stage1.paf.6.weight"].shape == (512, 128, 1, 1)
    assert params["stage1.heat.8.weight"].shape == (19, 512, 1, 1)
    assert params["stage3.paf.0.weight"].shape == (128, 185, 7, 7)
    assert params["stage3.paf.12.weight"].shape == (38, 128, 1, 1)
    assert params["stage6.heat.12.weight"].shape == (19, 128, 1, 1)


def test_light_trunk_is_mobilenet_v1_slot_for_slot():
    from gluonpose.model_zoo.mobilenet import MobileNet
    ours = get_model(LIGHT).features._collect_params_with_prefix()
    theirs = MobileNet().features._collect_params_with_prefix()
    assert len(get_model(LIGHT).features) == 69
    assert ours and all(theirs[k].shape == p.shape for k, p in ours.items())
    assert max(int(k.split(".")[0]) for k in ours) == 67   # conv5_5's pointwise norm


# ------------------------------------------------------------------------------------------
# learning-rate multipliers


def test_lr_mult_rules_cmu():
    net = get_model(CMU)
    applied = apply_lr_mult(net, get_model_spec(CMU))
    params = net._collect_params_with_prefix()
    assert set(applied) == set(params)
    want = {"features.0.weight": 1, "features.0.bias": 2, "features.21.weight": 1,
            "cpm.2.weight": 1, "cpm.2.bias": 2, "stage1.paf.0.weight": 1,
            "stage1.heat.8.bias": 2, "stage2.paf.0.weight": 4, "stage2.paf.0.bias": 8,
            "stage6.heat.12.weight": 4, "stage6.heat.12.bias": 8}
    for key, mult in want.items():
        assert params[key].lr_mult == mult, key
    for key, p in params.items():
        later = not key.startswith(("features.", "cpm.", "stage1."))
        assert p.lr_mult == (4 if later else 1) * (2 if key.endswith("bias") else 1), key
    # global names (collect_params keys) get the same multipliers
    for p in params.values():
        p.lr_mult = 1.0
    apply_lr_mult(net.collect_params(), get_model_spec(CMU).lr_mult)
    assert all(params[k].lr_mult == m for k, m in applied.items())


def test_lr_mult_rules_light_and_helpers():
    net = get_model(LIGHT)
    apply_lr_mult(net, get_model_spec(LIGHT))
    params = net._collect_params_with_prefix()
    assert params["features.0.weight"].lr_mult == 1
    assert params["features.1.gamma"].lr_mult == 1 and params["features.1.beta"].lr_mult == 2
    assert params["stage1.paf.2.bias"].lr_mult == 2
    assert params["stage2.trunk.0.initial.weight"].lr_mult == 4
    assert params["stage2.trunk.0.trunk.1.beta"].lr_mult == 8
    assert params["stage2.heat.2.bias"].lr_mult == 8
    rules = get_model_spec(CMU).lr_mult
    assert lr_mult_of("stage12.paf.0.weight", rules) == 4
    assert lr_mult_of("stage1.paf.0.weight", rules) == 1
    assert lr_mult_of("x", [LrMultRule("^y")]) is None
    with pytest.raises(Exception):
        LrMultRule("(")


# ------------------------------------------------------------------------------------------
# spec


def test_registry_and_spec_lookups():
    # the PAF models among the bottom-up ones (Associative Embedding is bottom-up too)
    bottom_up = [n for n in get_pose_model_list("bottom_up")
                 if get_model_spec(n).grouping == "paf"]
    assert bottom_up == sorted([CMU, LIGHT])
    assert not set(bottom_up) & set(get_pose_model_list("top_down"))
    assert set(bottom_up) < set(get_pose_model_list())
    for name in bottom_up:
        spec = get_model_spec(name)
        assert isinstance(spec, BottomUpSpec) and spec.kind == "bottom_up"
        assert spec.family == "openpose" and spec.input_size == (368, 368)
        assert spec.stride == 8 and spec.size_multiple == 8
        assert spec.schema == "openpose18" and spec.eval_schema == "coco"
        assert spec.heatmap_channels == 19 and spec.paf_channels == 38
        assert all(o.codec == "paf" and o.loss == "masked_l2" and o.weight == 1
                   for o in spec.outputs)
        assert spec.heatmap_size((368, 368)) == (46, 46)
        with pytest.raises(ValueError, match="multiples of 8"):
            spec.check_input_size((100, 100))
        assert spec_of(get_model(name)) is spec
        d = spec.describe()
        assert d["kind"] == "bottom_up" and d["decoded"][-1] == spec.outputs[-1].name
        assert "BottomUpSpec" in repr(spec)
    cmu = get_model_spec(CMU)
    assert [o.name for o in cmu.outputs[:3]] == ["stage1_paf", "stage1_heat", "stage2_paf"]
    assert [o.name for o in cmu.decoded_outputs] == ["stage6_paf", "stage6_heat"]
    assert cmu.test_scales == (0.5, 1.0, 1.5, 2.0)
    assert cmu.target_sigma == 7.0 and cmu.limb_width == 1.0
    assert cmu.bgr and not get_model_spec(LIGHT).bgr


def test_normalisation_is_x_over_256_minus_half_on_bgr():
    spec = get_model_spec(CMU)
    pixels = np.random.RandomState(0).randint(0, 256, (4, 5, 3)).astype(np.float64)  # RGB
    got = spec.normalise(pixels / 255.0)
    assert np.allclose(got, pixels[..., ::-1] / 256.0 - 0.5)


def test_flip_permutations_are_the_references():
    spec = get_model_spec(CMU)
    assert spec.flip_heatmap == (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16,
                                 18)
    assert spec.flip_paf == (3, 4, 5, 0, 1, 2, 10, 11, 12, 13, 6, 7, 8, 9, 14, 16, 15, 18, 17)
    perm, signs = spec.paf_flip_channels()
    assert perm[:4] == (6, 7, 8, 9) and signs[:4] == (-1, 1, -1, 1)
    assert len(OPENPOSE18_PARTS) == 19 and len(OPENPOSE18_LIMBS) == 19
    # the permutations derived from part names equal the PAF codec's tables
    from gluonpose.codecs.paf import HEATMAP_FLIP, PAF_FLIP
    assert spec.flip_heatmap == tuple(HEATMAP_FLIP) and spec.flip_paf == tuple(PAF_FLIP)


def test_bottom_up_spec_validation():
    outs = [SupervisedOutput("a_paf", 0), SupervisedOutput("a_heat", 1)]
    with pytest.raises(ValueError, match="outputs"):
        BottomUpSpec("x")
    with pytest.raises(ValueError, match="PAF or a heatmap"):
        BottomUpSpec("x", outputs=[SupervisedOutput("a", 0)])
    with pytest.raises(ValueError, match="channel_order"):
        BottomUpSpec("x", outputs=outs, channel_order="bgra")
    with pytest.raises(ValueError, match="permutation"):
        BottomUpSpec("x", outputs=outs, flip_heatmap=[0] * 19)
    assert BottomUpSpec("x", outputs=outs).decode == (0, 1)
    assert len(openpose_spec(3).outputs) == 6


# ------------------------------------------------------------------------------------------
# pretrained trunks and the engine's refusal


def _store_file(root, name, arrays):
    """Save ``arrays`` as ``{root}/{name}-{sha1[:8]}.params``; returns the sha1."""
    os.makedirs(root, exist_ok=True)
    tmp = os.path.join(root, "tmp.params")
    mx.nd.save(tmp, arrays)
    sha1 = hashlib.sha1(open(tmp, "rb").read()).hexdigest()
    os.replace(tmp, os.path.join(root, "%s-%s.params" % (name, sha1[:8])))
    return sha1


def test_vgg19_trunk_needs_a_store_entry(clean_store_env, tmp_path):
    with pytest.raises(ValueError, match="vgg19"):
        get_model(CMU, pretrained_base=True, root=str(tmp_path / "models"))


def test_vgg19_trunk_loads_by_hashtag(clean_store_env, tmp_path):
    root = str(tmp_path / "models")
    rng = np.random.RandomState(0)
    slots = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21)
    shapes = get_model(CMU)._collect_params_with_prefix()
    arrays = {}
    for ordinal, slot in enumerate(slots):        # the legacy global names of vision's VGG
        for kind in ("weight", "bias"):
            shape = shapes["features.%d.%s" % (slot, kind)].shape
            arrays["vgg0_conv%d_%s" % (ordinal, kind)] = mx.nd.array(
                rng.uniform(-1, 1, shape).astype(np.float32))
    arrays["vgg0_dense0_weight"] = mx.nd.zeros((2, 2))
    sha1 = _store_file(root, "vgg19", arrays)
    net = get_model(CMU, pretrained_base=sha1[:8], root=root)
    params = net._collect_params_with_prefix()
    for ordinal, slot in enumerate(slots):
        np.testing.assert_array_equal(params["features.%d.weight" % slot].data().asnumpy(),
                                      arrays["vgg0_conv%d_weight" % ordinal].asnumpy())
    with pytest.raises(RuntimeError, match="not been initialized"):
        params["cpm.0.weight"].data()                      # the rest is not initialised


def test_light_trunk_loads_mobilenet_weights(clean_store_env, tmp_path):
    from gluonpose.model_zoo.mobilenet import MobileNet
    root = str(tmp_path / "models")
    base = MobileNet()
    base.initialize()
    randomize(base, 3)
    arrays = {k: p.data() for k, p in base._collect_params_with_prefix().items()}
    sha1 = _store_file(root, "mobilenet1.0", arrays)
    net = get_model(LIGHT, pretrained_base=sha1[:8], root=root)
    params = net.features._collect_params_with_prefix()
    for key in ("0.weight", "1.running_var", "66.weight", "67.gamma"):
        np.testing.assert_array_equal(params[key].data().asnumpy(),
                                      arrays["features." + key].asnumpy())


def test_engine_takes_bottom_up_specs_for_training_only(capsys):
    """Training reads bottom-up specs (tests/test_bottom_up_training.py); the top-down paths
    (apply_spec_defaults without ``bottom_up``, the top-down Supervision) still refuse them."""
    from gluonpose.cli import main
    from gluonpose.engine import TRAIN_DEFAULTS, make_config
    from gluonpose.engine.config import apply_spec_defaults, require_top_down
    from gluonpose.engine.supervision import BottomUpSupervision, Supervision
    spec = get_model_spec(CMU)
    with pytest.raises(ValueError, match="bottom-up models are not supported"):
        apply_spec_defaults(make_config(TRAIN_DEFAULTS, {"model": CMU}), spec)
    cfg = apply_spec_defaults(make_config(TRAIN_DEFAULTS, {"model": CMU}), spec, bottom_up=True)
    assert cfg["input_size"] == "368,368"
    with pytest.raises(ValueError, match="bottom-up"):
        Supervision(spec, (64, 64), (8, 8))
    assert isinstance(Supervision.for_spec(spec, (64, 64), (8, 8)), BottomUpSupervision)
    assert require_top_down(get_model_spec("simple_pose_resnet18_v1b")) is not None
    assert main(["train", "--model", LIGHT, "--input-size", "64,96"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("gluonpose: error:") and "square" in err and "\n" not in err
