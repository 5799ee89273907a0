"""Every registered top-down model plugs into the whole spine, driven by the registry.

For each architecture of ``get_pose_model_list('top_down')`` (see :data:`WALKED`): a few training steps
through ``gluonpose.engine.train`` (targets, losses and the metric from the
model's spec), ``gluonpose.engine.evaluate`` on the trained network, the
Predictor on a bundled image, and an ONNX export whose onnxruntime output
matches the network. A family that does not plug in fails here, whatever
it is. Inputs are the smallest the spec allows and batches are tiny, so
the largest trunks (ResNet-152) stay cheap.

Bottom-up models (``get_pose_model_list('bottom_up')``, OpenPose) are not run
by the engine yet; for each of them the network must give every output its
spec lists, with the spec's channels at the spec's stride, hybridized or not,
and the engine must refuse it in one line.
"""
import json
import os
import re

import mxnet as mx
import numpy as np
import pytest

from gluonpose.data import mini_coco_root
from gluonpose.data.mscoco import COCOKeyPoints
from gluonpose.engine import EVAL_DEFAULTS, TRAIN_DEFAULTS, evaluate, make_config, train
from gluonpose.engine.data import SubsetDataset
from gluonpose.model_zoo import get_model_spec, get_pose_model_list, spec_of

ort = pytest.importorskip("onnxruntime")

TOP_DOWN = get_pose_model_list("top_down")
#: the walk below: one name per architecture. A registration that only changes the default
#: input size (``hourglass_8stack_256x192``, ``cpn_resnet50_v1b_384x288``) builds the same
#: network as its base name and is run here at the same smallest size, so it adds nothing
#: but minutes; its spec is still checked by its family's tests and the model-zoo page.
#: A deeper trunk of the same family (ResNet-101/152 beside ResNet-50, an 8-stack beside the
#: 4-stack hourglass) builds the same blocks more times: it adds minutes and no path through
#: the spine, so the walk takes the shallower one (the deep ones are built and counted in
#: tests/test_model_summary.py, the model-zoo page and the family tests).
DEEPER = re.compile(r"resnet(101|152)|hourglass_8stack")
WALKED = [n for n in TOP_DOWN
          if not (re.search(r"_\d+x\d+$", n) and re.sub(r"_\d+x\d+$", "", n) in TOP_DOWN)
          and not DEEPER.search(n)]
BOTTOM_UP = get_pose_model_list("bottom_up")


def _small_size(spec):
    """The smallest input of the spec's aspect family: (2m, m) for a multiple m."""
    m = spec.size_multiple
    return (2 * m, m) if spec.input_size[0] > spec.input_size[1] else (m, m)


@pytest.fixture(scope="module")
def people():
    """The first four people of the bundled set (decoded once for every model)."""
    return SubsetDataset(COCOKeyPoints(mini_coco_root(), "person_keypoints_train2017",
                                       image_format="numpy"), 4)


def test_registry_lists_every_family():
    families = {get_model_spec(n).family for n in TOP_DOWN}
    assert {"simple_pose"} <= families
    assert len(TOP_DOWN) >= 7


@pytest.mark.parametrize("name", WALKED)
def test_model_trains_evaluates_predicts_and_exports(name, people, tmp_path):
    spec = get_model_spec(name)
    size = _small_size(spec)
    num_joints = people.schema.num_joints
    cfg = make_config(TRAIN_DEFAULTS, {
        "model": name, "input_size": "%d,%d" % size, "batch_size": 2, "num_epochs": 1,
        "lr": 1e-3, "wd": 0.0, "lr_decay_epoch": "10", "ctx": "cpu:0",
        "num_data_workers": 0, "save_dir": str(tmp_path / "run"), "log_interval": 0,
        "logging_file": "", "progress": False, "seed": 1})
    result = train(cfg, dataset=people, echo=lambda *a: None, console=False)
    net = result.net
    assert spec_of(net) is spec
    records = [json.loads(line) for line in open(result.log_file)]
    epochs = [r for r in records if r.get("type") == "epoch"]
    assert epochs and np.isfinite(epochs[-1]["loss"]) and epochs[-1]["iterations"] == 2

    # evaluation reads the decoded output and the spec's normalisation
    ecfg = make_config(EVAL_DEFAULTS, {
        "model": name, "input_size": "%d,%d" % size, "data_dir": "mini", "ctx": "cpu:0",
        "batch_size": 4, "num_data_workers": 0, "max_samples": 4, "progress": False,
        "output_dir": str(tmp_path / "eval"), "params_file": result.params_file})
    res = evaluate(ecfg, net=net, echo=lambda *a: None)
    assert 0.0 <= res.ap <= 1.0
    assert res.protocol["input_size"] == list(size)
    dets = json.load(open(res.results_file))
    assert dets and all(len(d["keypoints"]) == 3 * num_joints for d in dets)

    # the Predictor on a bundled image with caller boxes
    import gluonpose
    image = os.path.join(mini_coco_root(), "train2017", "000000000790.jpg")
    pred = gluonpose.Predictor(net, input_size=size, hybridize=False, progress=False,
                               oks_nms_thresh=None)
    people_found = pred(image, boxes=[[10, 10, 120, 200], [50, 40, 200, 260]])
    assert len(people_found) == 2
    for person in people_found:
        assert person.keypoints.shape == (num_joints, 3)
        assert np.isfinite(person.keypoints).all()

    # ONNX through the exporter (decoded output only), onnxruntime parity
    from gluonpose.deploy.export import export_onnx
    onnx_file = str(tmp_path / "model.onnx")
    export_onnx(net, onnx_file, size)
    x = np.random.RandomState(0).uniform(-1, 1, (2, 3) + size).astype(np.float32)
    want = spec.decoded(net(mx.nd.array(x))).asnumpy()
    sess = ort.InferenceSession(onnx_file, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    assert got.shape == want.shape == (2, num_joints) + spec.heatmap_size(size)
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, np.abs(want).max())


# ------------------------------------------------------------------------------------------
# bottom-up models: the network honours its spec (training: tests/test_bottom_up_training.py)


def test_registry_lists_bottom_up_models():
    assert BOTTOM_UP and set(BOTTOM_UP) | set(TOP_DOWN) == set(get_pose_model_list())
    assert {get_model_spec(n).family for n in BOTTOM_UP} >= {"openpose"}


@pytest.mark.parametrize("name", BOTTOM_UP)
def test_bottom_up_outputs_follow_the_spec(name, tmp_path):
    from gluonpose.model_zoo import get_model
    spec = get_model_spec(name)
    assert spec.kind == "bottom_up"
    m = spec.size_multiple
    size = (2 * m, 3 * m)                        # tiny and not square
    net = get_model(name)
    assert spec_of(net) is spec
    net.initialize()
    x = mx.nd.array(np.random.RandomState(0).uniform(-1, 1, (1, 3) + size))
    outs = net(x)
    hw = spec.heatmap_size(size)
    assert len(spec.supervised(outs)) == len(spec.outputs)
    for o, arr in zip(spec.outputs, spec.supervised(outs)):
        assert arr.shape == (1, spec.channels_of(o)) + hw, (o.name, arr.shape)
    if spec.grouping == "paf":
        paf, heat = spec.decoded(outs)
        assert paf.shape[1] == spec.paf_channels and heat.shape[1] == spec.heatmap_channels
    else:                                       # associative embedding: detections, tags
        det, tags = spec.decoded(outs)
        assert det.shape[1] == spec.heatmap_channels and tags.shape[1] == spec.tag_channels
    net.hybridize()
    again = net(x)
    for a, b in zip(outs, again):
        a, b = a.asnumpy(), b.asnumpy()
        assert np.abs(a - b).max() <= 1e-4 * max(1.0, np.abs(a).max())
