"""Per-parameter learning-rate multipliers: parsed from ``--lr-mult``, honoured by training.

(The OpenPose spec's rules on its parameter names: ``tests/test_openpose_net.py``.)
"""
import mxnet as mx
import numpy as np
import pytest

from gluonpose.data import mini_coco_root
from gluonpose.data.mscoco import COCOKeyPoints
from gluonpose.engine import TRAIN_DEFAULTS, make_config, train
from gluonpose.engine.config import parse_lr_mult
from gluonpose.engine.data import SubsetDataset
from gluonpose.model_zoo import get_model
from gluonpose.model_zoo.spec import LrMultRule


def test_parse_rules_and_bad_text():
    assert parse_lr_mult(None) == () and parse_lr_mult("") == ()
    rules = parse_lr_mult("^resnet=0.1;stage[2-9]=4:8;")
    assert rules == (LrMultRule("^resnet", 0.1, 0.1), LrMultRule("stage[2-9]", 4.0, 8.0))
    # a pattern may itself contain '=': the value is after the last one
    assert parse_lr_mult("a=b=2") == (LrMultRule("a=b", 2.0, 2.0),)
    for bad in ("resnet", "=2", "^res(net=1", "x=-1", "x=1:2:3", "x=fast"):
        with pytest.raises(ValueError, match="--lr-mult"):
            parse_lr_mult(bad)


def test_engine_freezes_and_scales_what_the_rules_say(tmp_path):
    """SGD without weight decay: a x0 parameter ends exactly where it started."""
    people = SubsetDataset(COCOKeyPoints(mini_coco_root(), "person_keypoints_train2017",
                                         image_format="numpy"), 4)
    overrides = {
        "model": "simple_pose_resnet18_v1b", "input_size": "64,64", "batch_size": 2,
        "num_epochs": 1, "optimizer": "sgd", "lr": 0.05, "momentum": 0.0, "wd": 0.0,
        "lr_decay_epoch": "10", "ctx": "cpu:0", "num_data_workers": 0, "log_interval": 0,
        "logging_file": "", "progress": False, "seed": 3,
        "lr_mult": "^resnet=0;^final_layer=1:0"}
    # start from a saved file (--load-params) so the initial weights are known exactly
    mx.random.seed(3)
    initial = get_model("simple_pose_resnet18_v1b")
    initial.initialize(mx.init.MSRAPrelu())
    initial(mx.nd.zeros((1, 3, 64, 64)))
    start = str(tmp_path / "start.params")
    initial.save_parameters(start)
    before = {n: p.data().asnumpy() for n, p in initial._collect_params_with_prefix().items()}
    cfg = make_config(TRAIN_DEFAULTS, dict(overrides, save_dir=str(tmp_path / "run"),
                                           load_params=start))
    trained = train(cfg, dataset=people, echo=lambda *a: None, console=False).net
    after = {n: p.data().asnumpy() for n, p in trained._collect_params_with_prefix().items()}
    learnable = {n for n, p in trained._collect_params_with_prefix().items()
                 if p.grad_req != "null"}
    frozen = {n for n in learnable if n.startswith("resnet")} | {"final_layer.bias"}
    moved = learnable - frozen
    assert frozen and moved
    for name in frozen:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert all(not np.array_equal(after[n], before[n]) for n in moved)
    params = trained._collect_params_with_prefix()
    assert params["final_layer.weight"].lr_mult == 1.0
    assert params["final_layer.bias"].lr_mult == 0.0
    assert params["resnet.0.weight"].lr_mult == 0.0
