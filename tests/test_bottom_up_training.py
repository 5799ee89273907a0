"""Training bottom-up OpenPose models: masked L2 loss, supervision, engine runs, exact resume.

The engine runs train ``openpose_mobilenet_light_coco`` at 64x64 on the first
images of the bundled set, one image per device on two CPU contexts, with
data-loader workers 0.
"""
import json
import math
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from gluonpose.cli import main
from gluonpose.loss import MaskedL2Loss, WeightedL2Loss, get_loss
from gluonpose.model_zoo import get_model, get_model_spec
from gluonpose.engine.supervision import BottomUpSupervision, Supervision
from gluonpose.utils.metrics import PeakAccuracy
from test_resume import _assert_same

LIGHT = "openpose_mobilenet_light_coco"
CMU = "openpose_vgg19_coco"
RUN = ["--model", LIGHT, "--data-dir", "mini", "--input-size", "64", "--batch-size", "1",
       "--ctx", "cpu:0,cpu:1", "-j", "0", "--seed", "5", "--lr", "1e-4", "--no-progress",
       "--log-interval", "0"]


# ------------------------------------------------------------------------------------------
# loss and metric


def test_masked_l2_hand_values():
    # sample 0: maps 0..7 against zeros, mask keeps (0, 0) and (1, 1):
    #   kept values 0, 3 (channel 0) and 4, 7 (channel 1): (0 + 9 + 16 + 49) / 2 / 8 = 4.625
    # sample 1: maps all 1 against 3, full mask: 4 / 2 = 2
    pred = np.stack([np.arange(8.0).reshape(2, 2, 2), np.ones((2, 2, 2))])
    target = np.stack([np.zeros((2, 2, 2)), np.full((2, 2, 2), 3.0)])
    mask = np.array([[[1, 0], [0, 1]], [[1, 1], [1, 1]]], np.float32)
    want = [4.625, 2.0]
    p, t = mx.nd.array(pred), mx.nd.array(target)
    for m in (mx.nd.array(mask), mx.nd.array(mask[:, None])):
        loss = get_loss("masked_l2")
        assert isinstance(loss, MaskedL2Loss)
        np.testing.assert_allclose(loss(p, t, m).asnumpy(), want, rtol=1e-6)
        loss.hybridize()
        np.testing.assert_allclose(loss(p, t, m).asnumpy(), want, rtol=1e-6)
    # prediction and target are both masked: a soft value m weighs the error by m^2
    half = mx.nd.full((2, 2, 2), 0.5)
    np.testing.assert_allclose(MaskedL2Loss(weight=2)(p, t, half).asnumpy(),
                               [0.25 * 140 / 8, 0.25 * 4], rtol=1e-6)
    # an all-ones mask is the weighted L2 (same scale as the top-down heatmap loss)
    np.testing.assert_allclose(MaskedL2Loss()(p, t, mx.nd.ones((2, 2, 2))).asnumpy(),
                               WeightedL2Loss()(p, t).asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(MaskedL2Loss()(p, t).asnumpy(), WeightedL2Loss()(p, t).asnumpy(),
                               rtol=1e-6)


def test_peak_accuracy_counts_peaks_on_any_person():
    label = np.zeros((1, 3, 4, 4), np.float32)
    label[0, 0, 0, 0] = label[0, 0, 3, 3] = 1.0     # part 0: two people
    label[0, 1, 1, 1] = 1.0                         # part 1: one person
    label[0, 2] = 1.0                               # background: left out
    pred = np.zeros_like(label)
    pred[0, 0, 3, 3] = 2.0                          # the second person's part 0: a hit
    pred[0, 1, 2, 2] = 2.0                          # part 1 misplaced: a miss
    m = PeakAccuracy()
    m.update([mx.nd.array(label)], [mx.nd.array(pred)])
    assert m.get() == ("heatmap_accuracy", 0.5)


# ------------------------------------------------------------------------------------------
# supervision


def test_bottom_up_supervision_targets_every_stage():
    spec = get_model_spec(LIGHT)
    sup = Supervision.for_spec(spec, (64, 64), (8, 8))
    assert isinstance(sup, BottomUpSupervision) and sup.multi
    assert sup.names == ["stage1_paf", "stage1_heat", "stage2_paf", "stage2_heat"]
    assert sup.net_kwargs(17) == {}
    with pytest.raises(ValueError, match="square"):
        Supervision.for_spec(spec, (64, 96), (8, 12))
    joints = np.zeros((1, 17, 3), np.float32)
    joints[0, :, :2] = np.linspace(10, 50, 34).reshape(17, 2)
    joints[0, :, 2] = 2
    (heat, paf), mask = sup.encoder.encode(joints, (64, 64), np.ones((64, 64), np.float32))
    assert heat.shape == (19, 8, 8) and paf.shape == (38, 8, 8) and mask.shape == (8, 8)
    heat, paf, mask = (mx.nd.array(a[None]) for a in (heat, paf, mask))
    zeros = [mx.nd.zeros((1, 38, 8, 8)), mx.nd.zeros((1, 19, 8, 8))] * 2
    total, terms = sup.loss(tuple(zeros), [heat, paf], mask)
    want = [float((paf ** 2).mean().asscalar()) / 2, float((heat ** 2).mean().asscalar()) / 2] * 2
    np.testing.assert_allclose([float(t.asscalar()) for t in terms], want, rtol=1e-5)
    assert float(total.asscalar()) == pytest.approx(sum(want), rel=1e-5)
    target, output = sup.metric_pair(tuple(zeros), [heat, paf])
    assert target is heat and output is zeros[-1]
    assert "stage2_heat: paf(stride=8, sigma=7, limb_width=1) masked_l2 x1" in sup.describe()


# ------------------------------------------------------------------------------------------
# engine


def _records(save_dir):
    with open(os.path.join(str(save_dir), "train_log.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_two_iterations_on_two_contexts_log_every_stage(tmp_path):
    d = tmp_path / "run"
    assert main(["train"] + RUN + ["--max-samples", "4", "--num-epochs", "1",
                                   "--save-dir", str(d)]) == 0
    epochs = [r for r in _records(d) if r["type"] == "epoch"]
    assert len(epochs) == 1 and epochs[0]["iterations"] == 2 and epochs[0]["samples"] == 4
    rec = epochs[0]
    stages = ["loss_stage1_paf", "loss_stage1_heat", "loss_stage2_paf", "loss_stage2_heat"]
    for key in ["loss", "heatmap_accuracy"] + stages:
        assert rec[key] is not None and math.isfinite(rec[key]), key
    assert rec["loss"] == pytest.approx(sum(rec[k] for k in stages), rel=1e-5)
    assert os.path.getsize(d / "train_curves.png") > 0
    manifest = json.load(open(d / ("%s-0.ckpt.json" % LIGHT)))
    assert manifest["image_size"] == [64, 64] and manifest["heatmap_size"] == [8, 8]
    assert manifest["contexts"] == ["cpu(0)", "cpu(1)"]


def test_bottom_up_resume_equals_uninterrupted(tmp_path, capsys):
    args = RUN + ["--max-samples", "2", "--num-epochs", "2"]
    ref, d = tmp_path / "ref", tmp_path / "run"
    assert main(["train"] + args + ["--save-dir", str(ref)]) == 0
    assert main(["train"] + args + ["--save-dir", str(d), "--stop-after", "1"]) == 0
    assert main(["train", "--resume", "auto", "--save-dir", str(d), "--no-progress"]) == 0
    assert "resumed from %s-0: epoch 1, batch 0, iteration 1" % LIGHT in capsys.readouterr().out
    final = "%s-1.params" % LIGHT
    _assert_same(str(ref / final), str(d / final), tol=0)
    assert [r["epoch"] for r in _records(d) if r["type"] == "epoch"] == [0, 1]


def test_cmu_network_training_step_reaches_every_stage():
    """One forward/backward of the full-size CMU network (6 stages, VGG-19 trunk) at 64x64."""
    from gluonpose.data.mini import mini_coco_bottom_up
    from gluonpose.engine.data import SampleRNG
    from gluonpose.engine.trainer import forward_backward
    spec = get_model_spec(CMU)
    sup = Supervision.for_spec(spec, (64, 64), spec.heatmap_size((64, 64)))
    ds = mini_coco_bottom_up(image_format="numpy")
    cfg = {"rotation_factor": 40.0, "random_flip": True}
    rng = SampleRNG(3)
    transform = sup.train_transform(cfg, spec.mean, spec.std, ds.schema, rng)
    # the CMU network takes BGR: the RGB-normalised image of the preset, channels reversed
    rng.reseed(1)
    bgr = transform(*ds[0])[0].asnumpy()
    rng.reseed(1)
    rgb = transform.transform(*ds[0])[0].asnumpy()
    np.testing.assert_array_equal(bgr, rgb[::-1])
    items = [transform(*ds[i]) for i in range(2)]
    batch = gluon.data.dataloader.default_batchify_fn(items)
    assert batch[0].shape == (2, 3, 64, 64) and batch[2].shape == (2, 8, 8)
    net = get_model(CMU)
    net.initialize(mx.init.MSRAPrelu())
    ctx = [mx.cpu()]
    _, _, losses, terms = forward_backward(net, sup, batch, ctx)
    assert losses[0].shape == (2,) and np.isfinite(losses[0].asnumpy()).all()
    assert len(terms[0]) == 12
    assert all(np.isfinite(t.asnumpy()).all() for t in terms[0])
    params = net._collect_params_with_prefix()
    for stage in ["features"] + ["stage%d" % t for t in range(1, 7)]:
        grads = [p.grad().abs().sum().asscalar() for k, p in params.items()
                 if k.startswith(stage + ".") and p.grad_req != "null"]
        assert grads and sum(grads) > 0, stage


def test_image_cache_keeps_bottom_up_items():
    """``--cache-images``: items of a bottom-up set stay ``(img, label)`` when cached."""
    from gluonpose.data.mini import mini_coco_bottom_up
    from gluonpose.engine.data import InMemoryDataset
    base = mini_coco_bottom_up(image_format="numpy")
    cached = InMemoryDataset(base)
    first, again = cached[0], cached[0]
    assert len(first) == len(again) == 2
    assert again[0] is first[0]
    np.testing.assert_array_equal(again[1]["joints"], base[0][1]["joints"])
    np.testing.assert_array_equal(again[1]["mask"], base[0][1]["mask"])
