"""Stacked hourglass family: shapes per stack, gradients, hybrid parity, cost, flip test, engine.

Inputs are tiny (64x64, the smallest side four poolings allow) except where a
figure is quoted at the reference's 256x256; those are counted on the symbol
graph, no array of that size is allocated.
"""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from gluonpose.codecs import flip_heatmaps, flip_merge
from gluonpose.data.schema import COCO_PERSON, MPII
from gluonpose.model_zoo import get_model, get_model_spec, get_pose_model_list
from gluonpose.model_zoo.hourglass import HOURGLASS_MODELS, HourglassNet, get_hourglass
from gluonpose.utils.model_summary import model_summary

SMALL = (64, 64)


def _net(num_stacks, seed=0, **kwargs):
    mx.random.seed(seed)
    net = get_hourglass(num_stacks, **kwargs)
    net.initialize()
    return net


def _input(shape, seed=0):
    return mx.nd.array(np.random.RandomState(seed).uniform(0, 1, shape).astype(np.float32))


def _params(net):
    return net._collect_params_with_prefix()


# ------------------------------------------------------------------------------------------
# registry and spec


def test_registered_models_and_specs():
    names = set(get_pose_model_list("top_down"))
    assert set(HOURGLASS_MODELS) <= names
    for name, (stacks, joints, _) in HOURGLASS_MODELS.items():
        spec = get_model_spec(name)
        assert spec.family == "hourglass"
        assert [o.name for o in spec.outputs] == ["stack%d" % i for i in range(stacks)]
        assert [o.index for o in spec.outputs] == list(range(stacks))
        assert all(o.weight == 1.0 for o in spec.outputs)
        assert spec.decoded_output.name == "stack%d" % (stacks - 1)
        assert spec.mean == (0.0, 0.0, 0.0) and spec.std == (1.0, 1.0, 1.0)
        assert spec.stride == 4 and spec.size_multiple == 64
        assert spec.flip_shift == 0.75        # exact for stride 4 (tests/test_flip_shift.py)
        assert spec.schema == ("mpii" if joints == 16 else "coco")
        assert spec.input_size == ((256, 192) if name.endswith("256x192") else (256, 256))
    net = get_model("hourglass_8stack_mpii", pretrained_base=True, pretrained_ctx=mx.cpu())
    assert isinstance(net, HourglassNet) and net.num_stacks == 8 and net.num_joints == 16
    assert get_model("hourglass_4stack", num_joints=14).num_joints == 14


def test_reference_layout_names_and_shapes():
    """Structural names follow the PyTorch reference's module tree (a converter renames BN only)."""
    params = _params(get_hourglass(2))
    shapes = {k: p.shape for k, p in params.items()}
    assert shapes["pre.0.conv.weight"] == (64, 3, 7, 7)
    assert shapes["pre.0.bn.gamma"] == (64,)
    assert shapes["pre.1.conv1.conv.weight"] == (64, 64, 1, 1)
    assert shapes["pre.1.conv2.conv.weight"] == (64, 64, 3, 3)
    assert shapes["pre.1.conv3.conv.weight"] == (128, 64, 1, 1)
    assert shapes["pre.1.skip_layer.conv.weight"] == (128, 64, 1, 1)
    assert shapes["pre.4.conv3.conv.weight"] == (256, 128, 1, 1)
    assert shapes["hgs.1.0.low2.low2.low2.low2.conv2.conv.weight"] == (128, 128, 3, 3)
    assert shapes["hgs.0.0.low2.low2.low2.low3.bn1.gamma"] == (256,)
    assert shapes["features.1.0.conv1.conv.weight"] == (128, 256, 1, 1)
    assert shapes["features.1.1.conv.weight"] == (256, 256, 1, 1)
    assert shapes["features.1.1.bn.running_var"] == (256,)
    assert shapes["outs.1.conv.weight"] == (17, 256, 1, 1)
    assert shapes["outs.1.conv.bias"] == (17,)
    assert shapes["merge_features.0.conv.conv.weight"] == (256, 256, 1, 1)
    assert shapes["merge_preds.0.conv.conv.weight"] == (256, 17, 1, 1)
    # no merge after the last stack; no skip conv in a 256 -> 256 unit
    assert not any(k.startswith("merge_features.1.") for k in params)
    assert "hgs.0.0.up1.skip_layer.conv.weight" not in params
    # every batch norm is the cuDNN-off one
    from gluonpose.nn import BatchNormCudnnOff
    net = get_hourglass(1)
    norms = []
    net.apply(lambda b: norms.append(b) if isinstance(b, mx.gluon.nn.BatchNorm) else None)
    assert norms and all(isinstance(b, BatchNormCudnnOff) for b in norms)


def test_reference_initialisation_survives_a_global_initializer():
    mx.random.seed(3)
    net = get_hourglass(1)
    net.initialize(mx.init.MSRAPrelu())        # what the training engine passes
    params = _params(net)
    for key, fan_in in (("pre.0.conv.weight", 3 * 49), ("pre.0.conv.bias", 3 * 49),
                        ("hgs.0.0.up1.conv2.conv.weight", 128 * 9),
                        ("outs.0.conv.weight", 256)):
        value = params[key].data().asnumpy()
        bound = np.sqrt(1.0 / fan_in)
        assert np.abs(value).max() <= bound
        assert np.abs(value).max() > 0.9 * bound       # uniform over the whole range
    assert np.all(params["pre.0.bn.gamma"].data().asnumpy() == 1)
    assert np.all(params["pre.0.bn.beta"].data().asnumpy() == 0)


# ------------------------------------------------------------------------------------------
# shapes


@pytest.mark.parametrize("stacks", [1, 2, 8])
def test_one_heatmap_array_per_stack(stacks):
    net = _net(stacks)
    out = net(_input((2, 3) + SMALL))
    assert isinstance(out, tuple) and len(out) == stacks
    for hm in out:
        assert hm.shape == (2, 17, 16, 16)


def test_shapes_at_256x192_inferred_on_the_graph():
    net = get_hourglass(8)
    outs = net(mx.sym.var("data"))
    assert len(outs) == 8
    _, shapes, _ = mx.sym.Group(list(outs)).infer_shape(data=(1, 3, 256, 192))
    assert shapes == [(1, 17, 64, 48)] * 8


def test_num_downsample_sets_the_size_multiple():
    net = _net(2, num_downsample=2, num_joints=5)
    out = net(_input((1, 3, 16, 32)))       # 4 * 2**2 = 16
    assert [o.shape for o in out] == [(1, 5, 4, 8)] * 2
    from gluonpose.model_zoo.hourglass import hourglass_spec
    assert hourglass_spec(2, num_downsample=2).size_multiple == 16
    with pytest.raises(ValueError):
        get_hourglass(0)
    with pytest.raises(ValueError):
        get_hourglass(2, num_downsample=0)


# ------------------------------------------------------------------------------------------
# gradients and hybridization


def test_gradient_reaches_every_stack_and_only_forward():
    net = _net(2, seed=1)
    x = _input((2, 3) + SMALL, seed=1)
    rng = np.random.RandomState(2)
    targets = [mx.nd.array(rng.uniform(0, 1, (2, 17, 16, 16))) for _ in range(2)]
    trainable = {k: p for k, p in _params(net).items() if p.grad_req != "null"}

    def grads(which):
        # a parameter outside the loss's graph keeps its old gradient: clear them first
        net.collect_params().zero_grad()
        with autograd.record():
            out = net(x)
            loss = sum(((out[i] - targets[i]) ** 2).mean() for i in which)
        loss.backward()
        return {k: float(np.abs(p.grad().asnumpy()).max()) for k, p in trainable.items()}

    both = grads((0, 1))
    dead = [k for k, g in both.items() if not g > 0]
    assert not dead, "no gradient reaches %s" % dead
    # the first stack's loss does not reach the second stack (nor the merges it feeds)
    first = grads((0,))
    later = [k for k in trainable if k.split(".")[0] in ("hgs", "features", "outs")
             and k.split(".")[1] == "1"] + [k for k in trainable if k.startswith("merge_")]
    assert later and all(first[k] == 0 for k in later)
    assert first["outs.0.conv.weight"] > 0 and first["pre.0.conv.weight"] > 0
    # the last stack's loss flows back through the merges into the first stack
    last = grads((1,))
    assert last["hgs.0.0.up1.conv1.conv.weight"] > 0
    assert last["merge_preds.0.conv.conv.weight"] > 0


def test_hybridized_equals_imperative():
    net = _net(2, seed=4)
    x = _input((2, 3) + SMALL, seed=4)
    want = [o.asnumpy() for o in net(x)]
    net.hybridize(static_alloc=True, static_shape=True)
    got = [o.asnumpy() for o in net(x)]
    assert len(got) == 2
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------
# cost against the reference


def _residual_params(cin, cout):
    mid = cout // 2
    n = 2 * cin + (cin * mid + mid) + 2 * mid + (9 * mid * mid + mid) + 2 * mid \
        + (mid * cout + cout)
    return n + (cin * cout + cout if cin != cout else 0)


def _expected_params(stacks, joints, f=256, depth=4):
    """Parameters of the architecture counted by hand (BN gamma/beta counted, stats not)."""
    stem = (3 * 49 * 64 + 64) + 2 * 64 + _residual_params(64, 128) \
        + _residual_params(128, 128) + _residual_params(128, f)
    hourglass = (3 * depth + 1) * _residual_params(f, f)
    per_stack = hourglass + _residual_params(f, f) + (f * f + f) + 2 * f + (f * joints + joints)
    merge = (joints * f + f) + (f * f + f)
    return stem + stacks * per_stack + (stacks - 1) * merge


def test_params_and_gflops_of_the_8_stack_beside_the_reference():
    # counting convention: 1 GFLOP = 1e9 multiply-adds of convolutions (model_summary)
    s = model_summary(get_hourglass(8, num_joints=16), (256, 256))
    assert s.params == _expected_params(8, 16) == 25434112
    assert s.output_shape == (1, 16, 64, 64)
    assert s.gflops == pytest.approx(27.44, abs=0.01)
    # published for the PyTorch 8-stack (256 features, MPII, 256x256): 25.59 M weights,
    # 28 GFLOPs (yuanyuanli85/Fast_Human_Pose_Estimation_Pytorch README, hg_s8_b1 on
    # bearpaw/pytorch-pose); the princeton-vl model has the same used layers
    assert s.mparams == pytest.approx(25.59, rel=0.01)
    assert s.gflops == pytest.approx(28.0, rel=0.03)
    coco = model_summary(get_hourglass(8), (256, 256))
    assert coco.params == _expected_params(8, 17) == 25437960
    assert coco.gflops == pytest.approx(27.46, abs=0.01)
    for stacks in (1, 2):
        assert model_summary(get_hourglass(stacks), SMALL).params == _expected_params(stacks, 17)


# ------------------------------------------------------------------------------------------
# flip test


@pytest.mark.parametrize("schema", [COCO_PERSON, MPII], ids=["coco", "mpii"])
def test_flip_test_is_self_consistent_on_a_symmetric_image(schema):
    net = _net(2, seed=5, num_joints=schema.num_joints)
    half = np.random.RandomState(5).uniform(0, 1, (1, 3, 64, 32)).astype(np.float32)
    image = np.concatenate([half, half[..., ::-1]], axis=3)     # left-right symmetric
    x = mx.nd.array(image)
    assert np.array_equal(mx.nd.flip(x, axis=3).asnumpy(), image)
    # the decoded output is the last stack
    plain = net(x)[-1].asnumpy()
    mirrored = net(mx.nd.flip(x, axis=3))[-1].asnumpy()
    # an untrained network's geometry is pixel-centred: unshifted, the merge is symmetric
    merged = flip_merge(plain, mirrored, schema.flip_index, shift=False)
    # mirroring the merged maps and swapping left/right gives them back exactly
    np.testing.assert_allclose(flip_heatmaps(merged, schema.flip_index, shift=False), merged,
                               rtol=0, atol=1e-7)
    # the merge is the mean of the plain output and its mirrored, permuted self
    np.testing.assert_allclose(
        merged, (plain + plain[:, schema.flip_index, :, ::-1]) / 2, rtol=0, atol=1e-7)
    # GluonCV's one-column shift would break that symmetry
    shifted = flip_merge(plain, mirrored, schema.flip_index, shift=True)
    assert not np.allclose(flip_heatmaps(shifted, schema.flip_index, shift=False), shifted)


# ------------------------------------------------------------------------------------------
# the training engine


def test_engine_trains_the_2_stack_and_logs_each_stack(tmp_path):
    from gluonpose.data import mini_coco_root
    from gluonpose.data.mscoco import COCOKeyPoints
    from gluonpose.engine import TRAIN_DEFAULTS, make_config, train
    from gluonpose.engine.data import SubsetDataset
    people = SubsetDataset(COCOKeyPoints(mini_coco_root(), "person_keypoints_train2017",
                                         image_format="numpy"), 4)
    cfg = make_config(TRAIN_DEFAULTS, {
        "model": "hourglass_2stack", "input_size": "64,64", "batch_size": 2, "num_epochs": 2,
        "lr": 1e-3, "wd": 0.0, "lr_decay_epoch": "10", "ctx": "cpu:0",
        "num_data_workers": 0, "save_dir": str(tmp_path), "log_interval": 0,
        "logging_file": "", "progress": False, "seed": 1})
    result = train(cfg, dataset=people, echo=lambda *a: None, console=False)
    epochs = [json.loads(line) for line in open(result.log_file)]
    epochs = [r for r in epochs if r.get("type") == "epoch"]
    assert len(epochs) == 2
    for rec in epochs:
        assert np.isfinite(rec["loss_stack0"]) and np.isfinite(rec["loss_stack1"])
        assert rec["loss"] == pytest.approx(rec["loss_stack0"] + rec["loss_stack1"], rel=1e-5)
    out = result.net(_input((1, 3) + SMALL))
    assert len(out) == 2 and out[1].shape == (1, 17, 16, 16)
