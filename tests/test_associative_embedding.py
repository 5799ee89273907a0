"""Associative Embedding network: outputs per stack, gradients, hybrid parity, registry, cost.

Forward passes use tiny inputs (64x64, the smallest side four poolings allow)
and narrow networks; the figures of the registered models at their own input
sizes are counted on the symbol graph (no array of that size is allocated).
"""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from gluonpose.data.schema import COCO_PERSON
from gluonpose.model_zoo import (AssociativeEmbeddingNet, AssociativeEmbeddingSpec,
                                 get_associative_embedding, get_model, get_model_spec,
                                 get_pose_model_list, spec_of)
from gluonpose.model_zoo.associative_embedding import ASSOCIATIVE_EMBEDDING_MODELS
from gluonpose.model_zoo.hourglass import Hourglass
from gluonpose.utils.model_summary import model_summary

SMALL = (64, 64)
REFERENCE = "ae_hourglass_4stack_coco"
LIGHT = "ae_hourglass_2stack_light_coco"


def _narrow(seed=0, **kwargs):
    """A cheap network of the same structure (narrow, few stacks), initialised."""
    args = dict(num_stacks=2, channels=16, increase=8)
    args.update(kwargs)
    mx.random.seed(seed)
    net = get_associative_embedding(**args)
    net.initialize()
    return net


def _input(shape, seed=0):
    return mx.nd.array(np.random.RandomState(seed).uniform(0, 1, shape).astype(np.float32))


def _params(net):
    return net._collect_params_with_prefix()


# ------------------------------------------------------------------------------------------
# outputs


@pytest.mark.parametrize("tag_dim", [1, 2])
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_one_array_per_stack_with_detections_and_tags(tag_dim, batch_norm):
    net = _narrow(num_stacks=3, tag_dim=tag_dim, batch_norm=batch_norm)
    out = net(_input((2, 3) + SMALL))
    assert isinstance(out, tuple) and len(out) == 3
    for arr in out:
        # K detections, then K * D tags; stride 4
        assert arr.shape == (2, 17 * (1 + tag_dim), 16, 16)


def test_size_multiple_follows_num_downsample_and_bad_arguments():
    net = _narrow(num_stacks=1, num_downsample=2, num_joints=5)
    out = net(_input((1, 3, 16, 32)))          # 4 * 2**2 = 16
    assert [o.shape for o in out] == [(1, 10, 4, 8)]
    for bad in (dict(num_stacks=0), dict(num_downsample=0), dict(tag_dim=0)):
        with pytest.raises(ValueError):
            get_associative_embedding(**bad)
    with pytest.raises(ValueError, match="unit"):
        Hourglass(2, 8, unit="dense")


def test_spec_decodes_the_last_stack_into_detections_and_tags():
    mx.random.seed(0)
    net = get_model(LIGHT)
    net.initialize()
    spec = spec_of(net)
    assert spec is get_model_spec(LIGHT)
    out = net(_input((2, 3) + SMALL))
    assert len(spec.supervised(out)) == 2
    det, tags = spec.decoded(out)
    assert det.shape == (2, 17, 16, 16) and tags.shape == (2, 17, 16, 16)
    last = out[-1].asnumpy()
    np.testing.assert_array_equal(det.asnumpy(), last[:, :17])
    np.testing.assert_array_equal(tags.asnumpy(), last[:, 17:])


# ------------------------------------------------------------------------------------------
# gradients and hybridization


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_gradient_reaches_every_parameter(batch_norm):
    net = _narrow(seed=1, batch_norm=batch_norm)
    x = _input((2, 3) + SMALL, seed=1)
    rng = np.random.RandomState(2)
    targets = [mx.nd.array(rng.uniform(0, 1, (2, 34, 16, 16))) for _ in range(2)]
    trainable = {k: p for k, p in _params(net).items() if p.grad_req != "null"}
    net.collect_params().zero_grad()
    with autograd.record():
        out = net(x)
        loss = sum(((o - t) ** 2).mean() for o, t in zip(out, targets))
    loss.backward()
    dead = [k for k, p in trainable.items() if not np.abs(p.grad().asnumpy()).max() > 0]
    assert not dead, "no gradient reaches %s" % dead
    # both stacks and the merge between them are among the parameters checked
    assert {"features.1.0.up1.conv.weight", "outs.1.conv.weight",
            "merge_preds.0.conv.conv.weight"} <= set(trainable)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_hybridized_equals_imperative(batch_norm):
    net = _narrow(seed=4, tag_dim=2, batch_norm=batch_norm)
    x = _input((2, 3) + SMALL, seed=4)
    want = [o.asnumpy() for o in net(x)]
    net.hybridize(static_alloc=True, static_shape=True)
    got = [o.asnumpy() for o in net(x)]
    assert len(got) == 2
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_reference_initialisation_survives_a_global_initializer():
    mx.random.seed(3)
    net = get_associative_embedding(num_stacks=1, channels=16, increase=8, batch_norm=True)
    net.initialize(mx.init.MSRAPrelu())         # what the training engine passes
    params = _params(net)
    for key, fan_in in (("pre.0.conv.weight", 3 * 49), ("pre.0.conv.bias", 3 * 49),
                        ("features.0.0.low1.conv.weight", 16 * 9),
                        ("outs.0.conv.weight", 16)):
        value = params[key].data().asnumpy()
        bound = np.sqrt(1.0 / fan_in)
        assert np.abs(value).max() <= bound
        assert np.abs(value).max() > 0.8 * bound       # uniform over the whole range
    assert np.all(params["pre.0.bn.gamma"].data().asnumpy() == 1)
    assert np.all(params["features.0.0.up1.bn.beta"].data().asnumpy() == 0)


# ------------------------------------------------------------------------------------------
# registry and spec


def test_registered_models_and_specs():
    assert set(ASSOCIATIVE_EMBEDDING_MODELS) <= set(get_pose_model_list("bottom_up"))
    for name, (defaults, _) in ASSOCIATIVE_EMBEDDING_MODELS.items():
        spec = get_model_spec(name)
        stacks = defaults["num_stacks"]
        assert isinstance(spec, AssociativeEmbeddingSpec)
        assert spec.kind == "bottom_up" and spec.grouping == "ae"
        assert spec.family == "associative_embedding"
        assert [o.name for o in spec.outputs] == ["stack%d" % (i + 1) for i in range(stacks)]
        assert [o.index for o in spec.outputs] == list(range(stacks))
        assert all(o.loss == "ae" and o.weight == 1.0 for o in spec.outputs)
        assert spec.decoded_outputs[0].index == stacks - 1
        assert spec.mean == (0.0, 0.0, 0.0) and spec.std == (1.0, 1.0, 1.0)
        assert spec.channel_order == "rgb"
        assert spec.stride == 4 and spec.size_multiple == 64
        assert spec.num_joints == 17 and spec.tag_dim == 1
        assert spec.channels_of(spec.outputs[0]) == 34
        assert spec.schema == "coco" and spec.eval_schema == "coco"
        assert spec.flip_heatmap == tuple(COCO_PERSON.flip_index)
        net = get_model(name, pretrained_base=True, pretrained_ctx=mx.cpu())
        assert isinstance(net, AssociativeEmbeddingNet) and spec_of(net) is spec
        assert net.num_stacks == stacks and net.channels == defaults["channels"]
        assert net.batch_norm == defaults["batch_norm"]
    assert get_model_spec(REFERENCE).input_size == (512, 512)
    assert get_model_spec(LIGHT).input_size == (256, 256)
    assert get_model(REFERENCE, tag_dim=2).tag_dim == 2


def test_reference_layout_names_and_shapes():
    """Structural names follow the reference's module tree (a converter renames keys only)."""
    shapes = {k: p.shape for k, p in _params(get_model(REFERENCE)).items()}
    assert shapes["pre.0.conv.weight"] == (64, 3, 7, 7)
    assert shapes["pre.1.conv.weight"] == (128, 64, 3, 3)
    assert shapes["pre.3.conv.weight"] == (128, 128, 3, 3)
    assert shapes["pre.4.conv.weight"] == (256, 128, 3, 3)
    assert shapes["features.3.0.up1.conv.weight"] == (256, 256, 3, 3)
    assert shapes["features.3.0.low1.conv.weight"] == (384, 256, 3, 3)
    assert shapes["features.3.0.low3.conv.weight"] == (256, 384, 3, 3)
    assert shapes["features.0.0.low2.low2.low2.low2.conv.weight"] == (768, 768, 3, 3)
    assert shapes["features.2.1.conv.weight"] == (256, 256, 3, 3)
    assert shapes["features.2.2.conv.bias"] == (256,)
    assert shapes["outs.3.conv.weight"] == (34, 256, 1, 1)
    assert shapes["merge_features.2.conv.conv.weight"] == (256, 256, 1, 1)
    assert shapes["merge_preds.2.conv.conv.weight"] == (256, 34, 1, 1)
    assert not any(k.startswith("merge_preds.3.") for k in shapes)
    assert not any(".bn." in k for k in shapes)           # the reference has no batch norm
    light = _params(get_model(LIGHT))
    assert light["features.1.0.low2.low2.low2.low2.bn.gamma"].shape == (256,)
    assert "outs.1.bn.gamma" not in light and "merge_preds.0.conv.bn.gamma" not in light


# ------------------------------------------------------------------------------------------
# cost against the reference's layer table


def _layers(stacks, out_channels, f=256, increase=128, depth=4):
    """``(in, out, kernel, stride of the map it writes)`` of every convolution, by hand.

    From the layer table of the reference (pose-ae-train ``models/posenet.py``):
    stem, then per stack an hourglass of 3x3 units, two 3x3 convs and a 1x1
    output; 1x1 merges between stacks.
    """
    layers = [(3, 64, 7, 2), (64, 128, 3, 2), (128, 128, 3, 4), (128, f, 3, 4)]

    def hourglass(n, width, stride):
        low = width + increase
        units = [(width, width, 3, stride), (width, low, 3, 2 * stride)]
        units += hourglass(n - 1, low, 2 * stride) if n > 1 else [(low, low, 3, 2 * stride)]
        return units + [(low, width, 3, 2 * stride)]
    for i in range(stacks):
        layers += hourglass(depth, f, 4) + [(f, f, 3, 4), (f, f, 3, 4), (f, out_channels, 1, 4)]
        if i < stacks - 1:
            layers += [(out_channels, f, 1, 4), (f, f, 1, 4)]
    return layers


def _count(layers, size, batch_norm=False):
    """Parameters (weight, bias, BN scale/shift) and multiply-adds of ``layers`` at ``size``."""
    params = sum(k * k * cin * cout + cout for cin, cout, k, _ in layers)
    if batch_norm:
        # BN sits on every conv with a ReLU: all but the outputs and merges
        params += sum(2 * cout for cin, cout, k, _ in layers if k != 1)
    macs = sum(k * k * cin * cout * (size[0] // s) * (size[1] // s) for cin, cout, k, s in layers)
    return params, macs


def test_reference_params_and_gflops_equal_the_layer_table():
    s = model_summary(get_model(REFERENCE), (512, 512))
    params, macs = _count(_layers(4, 34), (512, 512))
    assert s.params == params == 138832776
    assert s.macs == macs
    assert s.gflops == pytest.approx(221.21, abs=0.01)
    assert s.output_shape == (1, 34, 128, 128)
    # the reference's 68-channel heads: 61,064 parameters more, nothing else differs
    assert _count(_layers(4, 68), (512, 512))[0] - params == 61064


def test_light_params_and_gflops_equal_the_layer_table():
    s = model_summary(get_model(LIGHT), (256, 256))
    params, macs = _count(_layers(2, 34, f=128, increase=32), (256, 256), batch_norm=True)
    assert s.params == params == 9973444
    assert s.macs == macs
    assert s.gflops == pytest.approx(8.20, abs=0.01)
    assert s.output_shape == (1, 34, 64, 64)
