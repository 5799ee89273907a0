"""Cascaded Pyramid Network: network, spec, targets, losses, flip, export, cost, engine.

Tiny inputs (64x32, heatmaps 16x8) keep the ResNet-50 nets cheap. The reference
figures are those of the HRNet paper's Table 1 (COCO val, "CPN ResNet-50
256x192: 27.0M parameters, 6.20 GFLOPs"), counted with the HRNet repository's
``get_model_summary`` (convolutions as weight size x output positions, sum
divided by 2**30); ``model_summary``'s ``hrnet_gflops`` is that convention and
``gflops`` is 1e9 multiply-adds.
"""
import json
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from gluonpose.codecs import MSRAHeatmap, flip_heatmaps, flip_merge
from gluonpose.codecs.multi import TargetSet
from gluonpose.data import COCO_PERSON
from gluonpose.engine.supervision import Supervision
from gluonpose.engine.trainer import forward_backward
from gluonpose.model_zoo import get_model, get_model_spec, get_pose_model_list
from gluonpose.model_zoo.cpn import CascadedPyramidNetwork, GlobalNet, RefineNet

SIZE = (64, 32)
HM = (16, 8)
NAMES = ("global_p2", "global_p3", "global_p4", "global_p5", "refine")
#: PyTorch-port pairing: widest Gaussian on the coarsest level, refine = smallest
SIGMAS = (1.4, 1.7, 2.0, 2.6, 1.4)


def _randomise_norms(model, seed=0):
    """Random BN scales, shifts and statistics: the heads start at gamma 0 (all-zero maps)."""
    rng = np.random.RandomState(seed)
    for name, p in model.collect_params().items():
        if name.endswith(("gamma", "running_var")):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape)))
        elif name.endswith(("beta", "running_mean")):
            p.set_data(mx.nd.array(rng.uniform(-0.1, 0.1, p.shape)))


@pytest.fixture(scope="module")
def net():
    mx.random.seed(0)
    model = get_model("cpn_resnet50_v1b")
    model.initialize(mx.init.MSRAPrelu())
    _randomise_norms(model)
    return model


def _input(n, seed=0, size=SIZE):
    return mx.nd.array(np.random.RandomState(seed).uniform(-1, 1, (n, 3) + size))


def _gaussian(shape, mu, sigma):
    """Reference map: exp(-d^2 / 2 sigma^2) around integer ``mu`` = (x, y), 3-sigma square."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    g = np.exp(-((xx - mu[0]) ** 2 + (yy - mu[1]) ** 2) / (2.0 * sigma ** 2))
    inside = (np.abs(xx - mu[0]) <= 3 * sigma) & (np.abs(yy - mu[1]) <= 3 * sigma)
    return np.where(inside, g, 0.0)


def test_registered_specs():
    names = {"cpn_resnet50_v1b", "cpn_resnet101_v1b", "cpn_resnet50_v1b_384x288",
             "cpn_resnet101_v1b_384x288"}
    assert names <= set(get_pose_model_list("top_down"))
    spec = get_model_spec("cpn_resnet50_v1b")
    assert spec.family == "cpn" and spec.input_size == (256, 192) and spec.stride == 4
    assert spec.size_multiple == 32 and spec.flip_shift == 0.75
    assert [o.name for o in spec.outputs] == list(NAMES)
    assert [o.index for o in spec.outputs] == [0, 1, 2, 3, 4]
    assert [o.sigma for o in spec.outputs] == list(SIGMAS)
    assert [o.weight for o in spec.outputs] == [1.0] * 5
    assert [o.loss for o in spec.outputs] == [None] * 4 + ["ohkm"]
    assert spec.outputs[4].loss_kwargs == {"topk": 8, "weight": 2.0}
    assert spec.decoded_output.name == "refine"
    big = get_model_spec("cpn_resnet101_v1b_384x288")
    assert big.input_size == (384, 288)
    assert [o.sigma for o in big.outputs] == [1.7, 2.3, 2.9, 3.8, 1.7]   # kernels 9..23


def test_output_shapes(net):
    outs = net(_input(2))
    assert isinstance(outs, tuple) and len(outs) == 5
    for o in outs:
        assert o.shape == (2, 17) + HM
    # the stages: GlobalNet features at strides 4..32 and heatmaps at stride 4, RefineNet
    gnet = GlobalNet((8, 16, 24, 32), num_joints=3, channels=16)
    gnet.initialize()
    levels = [mx.nd.ones((1, c, 16 // 2 ** i, 8 // 2 ** i)) for i, c in enumerate((8, 16, 24, 32))]
    out = gnet(*levels)
    assert [f.shape for f in out[:4]] == [(1, 16, 16, 8), (1, 16, 8, 4), (1, 16, 4, 2),
                                          (1, 16, 2, 1)]
    assert [p.shape for p in out[4:]] == [(1, 3, 16, 8)] * 4
    rnet = RefineNet(num_joints=3, channels=16, planes=8)
    rnet.initialize()
    assert rnet(*out[:4]).shape == (1, 3, 16, 8)
    assert len(rnet.cascades[3]) == 3 and len(rnet.cascades[0]) == 0
    # a V1d trunk, a square input, other joint counts
    other = CascadedPyramidNetwork("resnet50_v1d", num_joints=5)
    other.initialize()
    fresh = other(_input(1, size=(64, 64)))
    assert [o.shape for o in fresh] == [(1, 5, 16, 16)] * 5
    # every head ends with a gamma-0 BatchNorm: a fresh network predicts exactly 0
    assert all(float(o.abs().max().asscalar()) == 0 for o in fresh)
    with pytest.raises(ValueError, match="bottleneck"):
        CascadedPyramidNetwork("resnet18_v1b")


def test_hybridized_equals_imperative(net):
    x = _input(2, seed=3)
    try:
        want = [o.asnumpy() for o in net(x)]
        with autograd.train_mode():
            want_train = [o.asnumpy() for o in net(x)]
        net.hybridize()
        got = [o.asnumpy() for o in net(x)]
        with autograd.train_mode():
            got_train = [o.asnumpy() for o in net(x)]
    finally:
        net.hybridize(False)
    for a, b in zip(want + want_train, got + got_train):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_each_stage_gets_its_own_gaussian_from_one_sample():
    spec = get_model_spec("cpn_resnet50_v1b")
    image, heat = spec.input_size, spec.heatmap_size(spec.input_size)
    # the run's codec and sigma (msra, 2) must not override the spec's per-output sigmas
    sup = Supervision(spec, image, heat, codec="msra", sigma=2)
    assert isinstance(sup.encoder, TargetSet)
    assert [c.sigma for c in sup.codecs] == list(SIGMAS)
    rng = np.random.RandomState(7)
    joints = rng.uniform(0, 1, (17, 2)) * [image[1], image[0]]
    joints[0] = [101.3, 77.9]                                   # the hand-checked joints:
    joints[1] = [3.0, 5.0]                                      # one at the top-left border
    vis = (rng.uniform(size=17) > 0.3).astype(np.float32)
    vis[:2] = 1
    targets, weights = sup.encoder.encode(joints, vis)
    assert len(targets) == len(weights) == 5
    mu = (int(101.3 / 4 + 0.5), int(77.9 / 4 + 0.5))            # (25, 19)
    for target, weight, sigma in zip(targets, weights, SIGMAS):
        want_t, want_w = MSRAHeatmap(image, heat, sigma).encode(joints, vis)
        np.testing.assert_array_equal(target, want_t)
        np.testing.assert_array_equal(weight, want_w)
        # independent numpy Gaussians: peak 1 at mu, exp(-d^2/2s^2) within 3 sigma
        np.testing.assert_allclose(target[0], _gaussian(heat, mu, sigma), rtol=0, atol=1e-6)
        np.testing.assert_allclose(target[1], _gaussian(heat, (1, 1), sigma), rtol=0, atol=1e-6)
        assert np.unravel_index(target[0].argmax(), heat) == (mu[1], mu[0])
    # the five maps really differ by level, and p2 / refine (both 1.4) are separate copies
    assert not np.array_equal(targets[0], targets[3])
    np.testing.assert_array_equal(targets[0], targets[4])
    assert targets[0] is not targets[4]


def test_total_loss_is_the_reference_formula_and_reaches_every_parameter(net):
    spec = net.pose_spec
    sup = Supervision(spec, SIZE, HM, codec="msra")
    rng = np.random.RandomState(1)
    enc = [sup.encoder.encode(rng.uniform(0, 1, (17, 2)) * [SIZE[1], SIZE[0]],
                              (rng.uniform(size=17) > 0.2).astype(np.float32)) for _ in range(2)]
    targets = [mx.nd.array(np.stack([e[0][k] for e in enc])) for k in range(5)]
    weights = [mx.nd.array(np.stack([e[1][k] for e in enc])) for k in range(5)]
    net.collect_params().zero_grad()
    _, outputs, losses, terms = forward_backward(net, sup, (_input(2, 5), targets, weights),
                                                 [mx.cpu()])
    outs = [o.asnumpy() for o in outputs[0]]
    t = [a.asnumpy() for a in targets]
    w = [a.asnumpy() for a in weights]
    # PyTorch port: sum over levels of MSE_mean / 2, plus the mean of the 8 worst joints' MSE
    sq = [w[k] * (outs[k] - t[k]) ** 2 for k in range(5)]
    glob = sum(s.mean(axis=(1, 2, 3)) / 2 for s in sq[:4])
    per_joint = sq[4].mean(axis=(2, 3))
    refine = np.sort(per_joint, axis=1)[:, -8:].mean(axis=1)
    np.testing.assert_allclose(losses[0].asnumpy(), glob + refine, rtol=1e-5)
    np.testing.assert_allclose(terms[0][4].asnumpy(), refine, rtol=1e-5)
    missing = [name for name, p in net._collect_params_with_prefix().items()
               if p.grad_req != "null" and not np.abs(p.grad().asnumpy()).max() > 0]
    assert not missing, "no gradient reaches %s" % missing
    groups = {n.split(".")[0] for n, p in net._collect_params_with_prefix().items()}
    assert groups == {"resnet", "global_net", "refine_net"}


def test_ohkm_through_the_spec_keeps_the_k_worst_joints():
    spec = get_model_spec("cpn_resnet50_v1b")
    sup = Supervision(spec, (8, 8), (2, 2), codec="msra")
    n, j = 2, 17
    rng = np.random.RandomState(0)
    amp = rng.permutation(n * j).reshape(n, j).astype(np.float32) / 10 + 0.1   # distinct
    pred = np.broadcast_to(amp[:, :, None, None], (n, j, 2, 2)).copy()
    target = np.zeros_like(pred)
    weight = np.ones((n, j, 1, 1), np.float32)
    worst = amp.argmax(axis=1)
    weight[np.arange(n), worst] = 0          # the largest error is unlabelled: never counted
    per_joint = weight[:, :, 0, 0] * amp ** 2            # plain MSE (OHKM weight 2 drops 1/2)
    want = np.sort(per_joint, axis=1)[:, -8:].mean(axis=1)
    # by hand for sample 0: drop the masked joint, take the next 8 largest
    ranked = sorted((a for i, a in enumerate(amp[0]) if i != worst[0]), reverse=True)
    assert want[0] == pytest.approx(np.mean(np.square(ranked[:8])), rel=1e-6)
    got = sup.losses[4](mx.nd.array(pred), mx.nd.array(target), mx.nd.array(weight))
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-6)
    # through the whole spec: zero global terms, so the total is the refine term
    zeros = mx.nd.zeros((n, j, 2, 2))
    outs = (zeros,) * 4 + (mx.nd.array(pred),)
    total, terms = sup.loss(outs, [zeros] * 4 + [mx.nd.array(target)],
                            [mx.nd.array(weight)] * 5)
    np.testing.assert_allclose(total.asnumpy(), want, rtol=1e-6)
    assert all(float(t.abs().sum().asscalar()) == 0 for t in terms[:4])


def test_flip_merge_of_a_symmetric_input(net):
    half = np.random.RandomState(4).uniform(-1, 1, (1, 3) + SIZE)
    x = mx.nd.array(half + half[..., ::-1])                  # left-right symmetric crop
    out = net(x)[4]
    out_flip = net(mx.nd.flip(x, axis=3))[4]
    np.testing.assert_array_equal(out.asnumpy(), out_flip.asnumpy())
    merged = flip_merge(out.asnumpy(), out_flip.asnumpy(), COCO_PERSON.flip_index, shift=False)
    # no shift: the merged maps are exactly mirror-consistent (joint j <-> its flip partner)
    again = flip_heatmaps(merged, COCO_PERSON.flip_index, shift=False)
    np.testing.assert_array_equal(again, merged)
    w = HM[1]
    for a, b in ((5, 6), (9, 10), (15, 16)):
        ya, xa = np.unravel_index(merged[0, a].argmax(), HM)
        yb, xb = np.unravel_index(merged[0, b].argmax(), HM)
        assert (ya, xa) == (yb, w - 1 - xb)


@pytest.mark.filterwarnings("ignore:Parameter .* is not used")
def test_onnx_export_matches_at_another_batch(net, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from gluonpose.deploy.export import export_onnx
    path = export_onnx(net, str(tmp_path / "cpn.onnx"), SIZE)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert len(sess.get_outputs()) == 1                      # the refined maps only
    x = _input(3, seed=9)
    got = sess.run(None, {sess.get_inputs()[0].name: x.asnumpy().astype(np.float32)})[0]
    want = net(x)[4].asnumpy()
    assert got.shape == want.shape == (3, 17) + HM
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, np.abs(want).max())


def test_parameters_and_gflops_beside_the_reference():
    from gluonpose.utils.model_summary import model_summary
    s = model_summary(get_model("cpn_resnet50_v1b"), (256, 192))
    assert s.output_shape == (1, 17, 64, 48)
    # HRNet paper Table 1: CPN ResNet-50 256x192, 27.0M parameters, 6.20 GFLOPs (2**30 units)
    assert s.params == 27010538 and abs(s.params / 1e6 - 27.0) < 0.05
    assert s.gflops == pytest.approx(7.2306, abs=1e-3)           # 1e9 multiply-adds
    assert s.hrnet_gflops == pytest.approx(6.7340, abs=1e-3)     # vs 6.20 published (+8.6 %)
    trunk = sum(r["macs"] for r in s.layers
                if "_global_" not in r["name"] and "_refine_" not in r["name"])
    assert trunk / 1e9 == pytest.approx(4.0037, abs=1e-3)         # ResNet-50 at 256x192


def test_engine_logs_every_stage(tmp_path):
    from gluonpose.data import mini_coco_root
    from gluonpose.data.mscoco import COCOKeyPoints
    from gluonpose.engine import TRAIN_DEFAULTS, make_config, train
    from gluonpose.engine.data import SubsetDataset
    people = SubsetDataset(COCOKeyPoints(mini_coco_root(), "person_keypoints_train2017",
                                         image_format="numpy"), 4)
    cfg = make_config(TRAIN_DEFAULTS, {
        "model": "cpn_resnet50_v1b", "input_size": "%d,%d" % SIZE, "batch_size": 2,
        "num_epochs": 1, "lr": 1e-3, "wd": 0.0, "lr_decay_epoch": "10", "ctx": "cpu:0",
        "num_data_workers": 0, "save_dir": str(tmp_path), "log_interval": 0,
        "logging_file": "", "progress": False, "seed": 1})
    result = train(cfg, dataset=people, echo=lambda *a: None, console=False)
    epochs = [r for r in map(json.loads, open(result.log_file)) if r.get("type") == "epoch"]
    assert len(epochs) == 1
    rec = epochs[0]
    stages = [rec["loss_" + name] for name in NAMES]
    assert all(np.isfinite(v) and v > 0 for v in stages)
    assert rec["loss"] == pytest.approx(sum(stages), rel=1e-5)          # all weights 1
    assert os.path.getsize(result.plot_file) > 0
