"""Training engine pieces: multi-device gradients, schedule, data order, records, params files."""
import json
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from gluonpose.engine import checkpoint as ck
from gluonpose.engine.config import TRAIN_DEFAULTS, make_config, parse_contexts, parse_size
from gluonpose.engine.data import EpochBatchSampler, KeyedTransformDataset, SampleRNG
from gluonpose.engine.records import TrainingLog
from gluonpose.engine.trainer import build_lr_scheduler, forward_backward
from gluonpose.loss import WeightedL2Loss
from gluonpose.model_zoo import get_model

SIZE = (64, 64)          # smallest input whose heatmaps are input / 4 for ResNet trunks


def _net(ctxs, seed=3):
    mx.random.seed(seed)
    net = get_model("simple_pose_resnet18_v1b")
    net.initialize(mx.init.MSRAPrelu(), ctx=ctxs)
    return net


def _copy_params(src, dst, ctxs, tmp_path):
    path = str(tmp_path / "w.params")
    src.save_parameters(path)
    dst.load_parameters(path, ctx=ctxs)


def _batch(samples, seed=0):
    rng = np.random.RandomState(seed)
    n = len(samples)
    data = mx.nd.array(np.stack(samples))
    target = mx.nd.array(rng.uniform(0, 1, (n, 17) + (SIZE[0] // 4, SIZE[1] // 4)))
    weight = mx.nd.array(rng.randint(0, 2, (n, 17, 1, 1)).astype(np.float32))
    return data, target, weight


def _grads(net, ctxs):
    out = {}
    for name, p in net._collect_params_with_prefix().items():
        if p.grad_req == "null":
            continue
        out[name] = sum(g.asnumpy().astype(np.float64) for g in p.list_grad())
    return out


def test_two_cpu_contexts_give_the_gradients_of_one(tmp_path):
    """Gradients summed over two CPU devices equal one device's on the same batch.

    BatchNorm in training mode normalises with the statistics of each device's
    slice (GluonCV has no SyncBN here), so an arbitrary split changes the
    forward pass itself. The batch below is two samples repeated, [a, b, a, b]:
    split over two devices each slice is [a, b] and has exactly the statistics
    of the whole batch, so any difference would come from the multi-device
    code (split_and_load, per-device backward, reduction), not from BN.
    The second half shows the test is sensitive: the split [a, a] / [b, b]
    changes per-device statistics and the gradients.
    """
    one, two = [mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]
    rng = np.random.RandomState(1)
    a, b = (rng.normal(0, 1, (3,) + SIZE).astype(np.float32) for _ in range(2))
    net1, net2 = _net(one), _net(two, seed=9)
    _copy_params(net1, net2, two, tmp_path)
    loss = WeightedL2Loss()

    batch = _batch([a, b, a, b])
    forward_backward(net1, loss, batch, one)
    forward_backward(net2, loss, batch, two)
    g1, g2 = _grads(net1, one), _grads(net2, two)
    assert g1.keys() == g2.keys() and len(g1) > 50
    for name in g1:
        scale = max(np.abs(g1[name]).max(), 1e-12)
        np.testing.assert_allclose(g2[name], g1[name], rtol=1e-3, atol=1e-4 * scale,
                                   err_msg=name)

    # one optimizer step through gluon.Trainer with the 'device' kvstore: same weights
    t1 = gluon.Trainer(net1.collect_params(), "sgd", {"learning_rate": 0.5}, kvstore="device")
    t2 = gluon.Trainer(net2.collect_params(), "sgd", {"learning_rate": 0.5}, kvstore="device")
    t1.step(4)
    t2.step(4)
    p1, p2 = net1._collect_params_with_prefix(), net2._collect_params_with_prefix()
    for name in p1:
        w1 = p1[name].data(mx.cpu(0)).asnumpy()
        for c in two:           # every device holds the same updated copy
            np.testing.assert_allclose(p2[name].data(c).asnumpy(), w1, rtol=1e-4, atol=1e-6,
                                       err_msg=name)

    # sensitivity: a split with different per-device BN statistics changes the gradients
    batch = _batch([a, a, b, b])
    forward_backward(net1, loss, batch, one)
    forward_backward(net2, loss, batch, two)
    g1, g2 = _grads(net1, one), _grads(net2, two)
    conv = "resnet.0.weight"
    assert not np.allclose(g1[conv], g2[conv], rtol=1e-3, atol=0)


def test_context_parsing():
    assert parse_contexts(ctx="cpu:0,cpu:1") == [mx.cpu(0), mx.cpu(1)]
    assert parse_contexts(ctx="cpu*3") == [mx.cpu(0), mx.cpu(1), mx.cpu(2)]
    assert parse_contexts() == [mx.cpu()]
    assert parse_contexts(num_gpus=0) == [mx.cpu()]
    with pytest.raises(ValueError, match="GPU"):
        parse_contexts(gpus="0,1")                 # this machine has none
    with pytest.raises(ValueError, match="twice"):
        parse_contexts(ctx="cpu:0,cpu:0")
    assert parse_size("256,192") == (256, 192) == parse_size("256x192")
    with pytest.raises(ValueError, match="--input-size"):
        parse_size("256")


def test_schedule_is_gluoncvs():
    """Warmup + step decay, GluonCV's epochs -> update counts (decay on update e * nb)."""
    cfg = make_config(TRAIN_DEFAULTS, {"lr": 0.01, "num_epochs": 6, "warmup_epochs": 1,
                                       "lr_decay_epoch": "3,5"})
    sched = build_lr_scheduler(cfg, iters_per_epoch=10)
    assert sched(1) == pytest.approx(0.01 / 9)      # linear warmup from 0 over updates 0..9
    assert sched(10) == pytest.approx(0.01)
    assert sched(29) == pytest.approx(0.01)
    assert sched(30) == pytest.approx(0.001)         # (3 - 1 warmup) epochs after warmup
    assert sched(50) == pytest.approx(0.0001)
    cfg["lr_decay_period"] = 2                        # every 2 epochs: 2, 4
    sched = build_lr_scheduler(cfg, iters_per_epoch=10)
    assert [round(sched(t), 6) for t in (19, 20, 40)] == [0.01, 0.001, 0.0001]


def test_sample_order_and_augmentation_depend_only_on_seed_epoch_index():
    s = EpochBatchSampler(10, 4, seed=5)
    s.set_epoch(2)
    full = list(s)
    assert len(full) == 2 and all(len(b) == 4 for b in full)        # last batch discarded
    s.set_epoch(2, start_batch=1)
    assert list(s) == full[1:]                                       # mid-epoch resume
    s.set_epoch(3)
    assert list(s) != full
    # distributed shards: disjoint, equally long, together a subset of the epoch
    shards = [EpochBatchSampler(10, 2, seed=5, shard=(r, 3)) for r in range(3)]
    seen = []
    for sh in shards:
        sh.set_epoch(2)
        got = [i for b in sh for _, i in b]
        assert len(got) == 2
        seen += got
    assert len(set(seen)) == len(seen)

    class Draw:
        def __init__(self, rng):
            self.rng = rng

        def __call__(self, img, label, img_id):
            return self.rng.normal(), self.rng.uniform()

    base = [(None, None, i) for i in range(10)]
    rng = SampleRNG()
    ds = KeyedTransformDataset(base, Draw(rng), rng, seed=7)
    first = ds[(1, 3)]
    ds[(1, 4)]
    assert ds[(1, 3)] == first and ds[(2, 3)] != first


def test_training_log_and_plot(tmp_path):
    log = TrainingLog(str(tmp_path / "log.jsonl"), str(tmp_path / "curves.png"))
    for e in range(3):
        log.append({"type": "epoch", "epoch": e, "iterations": 5 * (e + 1), "loss": 1.0 / (e + 1),
                    "heatmap_accuracy": 0.1 * e, "lr": 1e-3})
    lines = [json.loads(l) for l in open(log.path)]
    assert [r["epoch"] for r in lines] == [0, 1, 2]
    with open(log.plot_path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")]   # no leftovers
    resumed = TrainingLog(log.path).load_until(10)
    assert [r["epoch"] for r in resumed.records] == [0, 1]


def test_checkpoint_params_load_in_gluoncv(tmp_path):
    """The .params of a checkpoint is GluonCV's file: gluoncv's model loads it."""
    gcv = pytest.importorskip("gluoncv")
    net = _net([mx.cpu()])
    net(mx.nd.zeros((1, 3) + SIZE))
    trainer = gluon.Trainer(net.collect_params(), "adam")
    saved = ck.save_checkpoint(str(tmp_path), "simple_pose_resnet18_v1b", net, trainer, 4, 3,
                               True, 12, {"model": "simple_pose_resnet18_v1b"})
    assert os.path.basename(saved.params_file) == "simple_pose_resnet18_v1b-4.params"
    saved.verify()
    theirs = gcv.model_zoo.get_model("simple_pose_resnet18_v1b", pretrained_base=False)
    theirs.load_parameters(saved.params_file)
    x = mx.nd.random.uniform(shape=(1, 3) + SIZE)
    np.testing.assert_allclose(theirs(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)
