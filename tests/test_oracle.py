"""Oracle AP on the bundled mini COCO set, and its agreement with a GluonCV-built oracle.

Figures at 256x192 (sigma 2, GT boxes, no flip) on the bundled set:
unbiased 0.991 (target >= 0.99, asserted); MSRA 0.962 -- *below* the 0.97
target. The MSRA figure is not a bug of ours: the same oracle built from
GluonCV's own target generator, ``get_final_preds`` and ``COCOKeyPointsMetric``
gives the identical AP (asserted below). What caps it on this set is that 6 of
its 86 instances have a visible GT joint outside the GT-box crop, which an
argmax decoder cannot return; with those joints exact, MSRA would score 0.983.
"""
import copy
import io
import json
import contextlib

import mxnet as mx
import numpy as np
import pytest

from gluoncv.data.transforms import pose as gpose
from gluoncv.data.transforms.presets.simple_pose import _box_to_center_scale
from gluoncv.model_zoo.simple_pose.pose_target import SimplePoseGaussianTargetGenerator
from gluoncv.utils.metrics.coco_keypoints import COCOKeyPointsMetric

from gluonpose.codecs import MSRAHeatmap, UnbiasedHeatmap
from gluonpose.utils.oracle import STAT_NAMES, main, oracle_ap
from gluonpose.data import MINI_COCO_SPLIT, mini_coco, mini_coco_root


@pytest.fixture(scope="module")
def dataset():
    return mini_coco()


@pytest.fixture(scope="module")
def results(dataset):
    return {name: oracle_ap(dataset, name, image_size=(256, 192), sigma=2)
            for name in ("msra", "unbiased")}


def test_oracle_targets_on_bundled_set(results):
    assert results["unbiased"].ap >= 0.99
    # the brief's 0.97 is not reachable on this set (see the module docstring); guard
    # the measured value instead so a regression still fails
    assert results["msra"].ap >= 0.96
    assert results["unbiased"].ap > results["msra"].ap


def test_oracle_protocol_record(results, dataset):
    res = results["msra"]
    p = res.protocol
    assert p["boxes"] == "ground-truth" and p["flip"] is False
    assert p["codec"] == "msra(sigma=2)"
    assert p["input_size"] == "256x192" and p["heatmap_size"] == "64x48"
    assert p["split"] == "coco_mini/" + MINI_COCO_SPLIT
    assert p["instances"] == len(dataset) == 86
    assert list(res.stats) == list(STAT_NAMES)
    assert res.summary() == (
        "oracle AP %.3f [gt boxes, no flip, codec=msra(sigma=2), input 256x192, heatmap 64x48, "
        "split=coco_mini/person_keypoints_train2017]" % res.ap)
    assert str(results["unbiased"]).startswith("oracle AP 0.99")
    json.dumps(res.to_dict())


def test_results_json(dataset, tmp_path):
    out = tmp_path / "res.json"
    res = oracle_ap(dataset, UnbiasedHeatmap((128, 96), sigma=2), results_file=str(out))
    assert res.results_file == str(out)
    dets = json.loads(out.read_text())
    assert len(dets) == len(dataset)
    ids = {rec["image_id"] for rec in dataset.records}
    for d in dets:
        assert d["category_id"] == 1 and d["image_id"] in ids
        assert len(d["keypoints"]) == 3 * 17 and 0 < d["score"] <= 1
    assert res.protocol["input_size"] == "128x96" and res.protocol["heatmap_size"] == "32x24"


def _gluoncv_oracle(dataset, size, hm, sigma, tmp_path):
    """The MSRA oracle assembled from GluonCV's own pieces, one record at a time."""
    gen = SimplePoseGaussianTargetGenerator(17, size[::-1], hm[::-1], sigma)
    metric = COCOKeyPointsMetric(dataset, str(tmp_path / "gcv"), use_time=False,
                                 in_vis_thresh=0)
    targets, centers, scales, ids = [], [], [], []
    for rec in dataset.records:
        xmin, ymin, xmax, ymax = rec["bbox"]
        c, s = _box_to_center_scale(xmin, ymin, xmax - xmin, ymax - ymin, size[1] / size[0])
        trans = gpose.get_affine_transform(c, s, 0, [size[1], size[0]])
        joints = copy.deepcopy(rec["joints_3d"])
        for i in range(17):
            if joints[i, 0, 1] > 0:
                joints[i, 0:2, 0] = gpose.affine_transform(joints[i, 0:2, 0], trans)
        targets.append(gen(joints)[0])
        centers.append(c), scales.append(s), ids.append(rec["image_id"])
    preds, maxvals = gpose.get_final_preds(mx.nd.array(np.stack(targets)), np.stack(centers),
                                           np.stack(scales))
    metric.update(preds, maxvals, mx.nd.ones(len(ids)), mx.nd.array(ids))
    with contextlib.redirect_stdout(io.StringIO()):
        stats, _ = metric.get()          # (OrderedDict of the ten numbers, AP)
    return stats


def test_msra_oracle_equals_gluoncv_pipeline(dataset, results, tmp_path):
    ref = _gluoncv_oracle(dataset, (256, 192), (64, 48), 2, tmp_path)
    ours = results["msra"].stats
    for name in ("AP", "Ap .5", "AP .75", "AR"):
        assert ours[name] == pytest.approx(ref[name], abs=1e-9), name


def test_oracle_cli(capsys):
    assert main(["--root", mini_coco_root(), "--input-size", "128,96", "--sigma", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("oracle AP ") and "codec=msra(sigma=1)" in lines[0]
    assert "codec=unbiased(sigma=1, blur=5)" in lines[1] and "input 128x96" in lines[1]


def test_codec_instance_sets_sizes(dataset):
    res = oracle_ap(dataset, MSRAHeatmap((256, 256), (64, 64), 2))
    assert res.protocol["input_size"] == "256x256" and 0.9 < res.ap <= 1
