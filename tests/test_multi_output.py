"""The spec contract with several supervised outputs (what hourglass and CPN will use).

A toy two-stage network is registered for the duration of the module with a
spec that supervises both outputs with different Gaussian sigmas and loss
weights and decodes the second. The engine, the evaluator and the exporter
must handle it with no family-specific code: targets for both outputs from
one augmentation, the weighted sum of the two losses with each logged, the
decoded output alone in evaluation and in the ONNX file.
"""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

from gluonpose.codecs import MSRAHeatmap
from gluonpose.codecs.multi import TargetSet
from gluonpose.data import mini_coco_root
from gluonpose.data.mscoco import COCOKeyPoints
from gluonpose.engine import TRAIN_DEFAULTS, make_config, train
from gluonpose.engine.data import SubsetDataset
from gluonpose.engine.supervision import Supervision
from gluonpose.engine.trainer import forward_backward
from gluonpose.model_zoo import SupervisedOutput, TopDownSpec, get_model, model_zoo

NAME = "toy_two_stage_test"
SIZE = (32, 24)
SPEC = TopDownSpec("toy_two_stage", input_size=SIZE, stride=4, size_multiple=4,
                   outputs=(SupervisedOutput("stage0", 0, weight=0.5, sigma=3),
                            SupervisedOutput("stage1", 1, weight=1.0, sigma=2)))


class TwoStage(nn.HybridBlock):
    """Stride-4 trunk, a first heatmap head, a second head that also sees the first."""

    def __init__(self, num_joints=17, **kwargs):
        kwargs.pop("pretrained_base", None)
        kwargs.pop("pretrained_ctx", None)
        kwargs.pop("ctx", None)
        kwargs.pop("pretrained", None)
        super().__init__(**kwargs)
        with self.name_scope():
            self.trunk = nn.HybridSequential()
            self.trunk.add(nn.Conv2D(8, 3, strides=2, padding=1), nn.Activation("relu"),
                           nn.Conv2D(16, 3, strides=2, padding=1), nn.Activation("relu"))
            self.head0 = nn.Conv2D(num_joints, 1)
            self.head1 = nn.Conv2D(num_joints, 3, padding=1)

    def hybrid_forward(self, F, x):
        feat = self.trunk(x)
        first = self.head0(feat)
        return first, self.head1(F.concat(feat, first, dim=1))


@pytest.fixture(scope="module", autouse=True)
def registered():
    model_zoo.register_model(NAME, TwoStage, spec=SPEC)
    yield
    model_zoo._MODELS.pop(NAME, None)
    model_zoo._SPECS.pop(NAME, None)


@pytest.fixture(scope="module")
def people():
    return SubsetDataset(COCOKeyPoints(mini_coco_root(), "person_keypoints_train2017",
                                       image_format="numpy"), 4)


def test_each_output_gets_its_own_targets_from_one_sample():
    sup = Supervision(SPEC, SIZE, (8, 6), codec="msra", sigma=1)
    assert isinstance(sup.encoder, TargetSet) and sup.names == ["stage0", "stage1"]
    rng = np.random.RandomState(0)
    joints = rng.uniform(0, 24, (17, 2))
    vis = (rng.uniform(size=17) > 0.3).astype(np.float32)
    targets, weights = sup.encoder.encode(joints, vis)
    for target, weight, sigma in zip(targets, weights, (3, 2)):
        want_t, want_w = MSRAHeatmap(SIZE, (8, 6), sigma).encode(joints, vis)
        np.testing.assert_array_equal(target, want_t)
        np.testing.assert_array_equal(weight, want_w)
    assert not np.array_equal(targets[0], targets[1])     # sigma 3 vs 2 really differ


def test_total_loss_is_the_weighted_sum_and_reaches_both_heads():
    net = get_model(NAME)
    net.initialize(mx.init.Xavier())
    sup = Supervision(SPEC, SIZE, (8, 6), codec="msra", sigma=2)
    rng = np.random.RandomState(1)
    data = mx.nd.array(rng.uniform(-1, 1, (2, 3) + SIZE))
    targets = [mx.nd.array(rng.uniform(0, 1, (2, 17, 8, 6))) for _ in range(2)]
    weights = [mx.nd.ones((2, 17, 1, 1)) for _ in range(2)]
    _, _, losses, terms = forward_backward(net, sup, (data, targets, weights), [mx.cpu()])
    total = losses[0].asnumpy()
    t0, t1 = (t.asnumpy() for t in terms[0])
    np.testing.assert_allclose(total, 0.5 * t0 + t1, rtol=1e-6)
    for name, param in net._collect_params_with_prefix().items():
        grad = param.grad().asnumpy()
        assert np.abs(grad).max() > 0, "no gradient reaches %s" % name


def test_engine_trains_logs_each_output_and_exports_the_decoded_one(people, tmp_path):
    cfg = make_config(TRAIN_DEFAULTS, {
        "model": NAME, "batch_size": 2, "num_epochs": 2, "lr": 1e-3, "wd": 0.0,
        "lr_decay_epoch": "10", "ctx": "cpu:0,cpu:1", "num_data_workers": 0,
        "save_dir": str(tmp_path), "log_interval": 0, "logging_file": "", "progress": False})
    result = train(cfg, dataset=people, echo=lambda *a: None, console=False)
    assert result.config["input_size"] == "32,24"      # the spec's default size
    epochs = [json.loads(line) for line in open(result.log_file)]
    epochs = [r for r in epochs if r["type"] == "epoch"]
    assert len(epochs) == 2
    for rec in epochs:
        # per-sample means: the total is the weighted sum of the logged terms
        assert rec["loss"] == pytest.approx(0.5 * rec["loss_stage0"] + rec["loss_stage1"],
                                            rel=1e-5)
    import os
    assert os.path.getsize(result.plot_file) > 0

    net = result.net
    x = np.random.RandomState(2).uniform(-1, 1, (2, 3) + SIZE).astype(np.float32)
    want = net(mx.nd.array(x))[1].asnumpy()
    ort = pytest.importorskip("onnxruntime")
    from gluonpose.deploy.export import export_onnx
    path = str(tmp_path / "toy.onnx")
    export_onnx(net, path, SIZE)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert len(sess.get_outputs()) == 1
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_evaluation_decodes_the_spec_output(people):
    from gluonpose.engine.evaluate import predict_dataset
    net = get_model(NAME)
    net.initialize(mx.init.Xavier())
    codec = MSRAHeatmap(SIZE, (8, 6), 2)
    args = (net, people, [mx.cpu()], SIZE, SPEC.mean, SPEC.std, codec)
    coords = predict_dataset(*args, progress=False)[0]

    first = TopDownSpec("toy", input_size=SIZE, stride=4, size_multiple=4,
                        outputs=(SupervisedOutput("a", 0), SupervisedOutput("b", 1)), decode=0)
    coords_first = predict_dataset(*args, progress=False, spec=first)[0]
    assert not np.allclose(coords, coords_first)     # the decoded output matters
    # and the default is the spec's decoded (second) output, decoded by the codec
    from gluonpose.data.transforms.presets.simple_pose import SimplePoseDefaultValTransform
    tf = SimplePoseDefaultValTransform(None, None, image_size=SIZE, mean=SPEC.mean,
                                       std=SPEC.std)
    img, scale, center, _, _ = tf(*people[0])
    hm = net(img.expand_dims(0))[1]
    want, _ = codec.decode(hm, center[None], scale[None])
    np.testing.assert_allclose(coords[0], want[0], atol=1e-4)
