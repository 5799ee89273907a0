"""Halpe-26 end to end on the bundled set: the derived json, training, evaluation with a
chosen pose NMS, prediction and drawing with the Halpe skeleton."""
import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gluonpose.data import mini_coco_root
from gluonpose.data.mscoco import COCOKeyPoints
from gluonpose.data.schema import COCO_PERSON, HALPE_26

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPLIT = "halpe26_train2017"
ANN = os.path.join(mini_coco_root(), "annotations", SPLIT + ".json")
MODEL = "simple_pose_resnet18_v1b"
SIZE = "64,64"


def test_committed_json_is_what_the_tool_builds(tmp_path):
    out = tmp_path / "halpe.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build_halpe26_mini.py"),
                           "--dst", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.load(open(out)) == json.load(open(ANN))


def test_halpe_json_derivation_rules():
    src = json.load(open(os.path.join(mini_coco_root(), "annotations",
                                      "person_keypoints_train2017.json")))
    dst = json.load(open(ANN))
    cat = dst["categories"][0]
    assert cat["keypoints"] == list(HALPE_26.keypoints)
    assert cat["skeleton"] == (HALPE_26.skeleton + 1).tolist()
    assert [a["id"] for a in dst["annotations"]] == [a["id"] for a in src["annotations"]]
    counts = np.zeros(26, int)
    sizes = {e["id"]: (e["width"], e["height"]) for e in dst["images"]}
    for a, b in zip(src["annotations"], dst["annotations"]):
        k17 = np.array(a["keypoints"], float).reshape(17, 3)
        k26 = np.array(b["keypoints"], float).reshape(26, 3)
        np.testing.assert_array_equal(k26[:17], k17)               # COCO joints copied
        assert b["bbox"] == a["bbox"] and b["area"] == a["area"]
        assert b["num_keypoints"] == int((k26[:, 2] > 0).sum())
        assert not k26[20:].any()                                   # feet never labelled
        shoulders, hips, ears = k17[[5, 6]], k17[[11, 12]], k17[[3, 4]]
        if (shoulders[:, 2] > 0).all():
            np.testing.assert_allclose(k26[18, :2], shoulders[:, :2].mean(0), atol=6e-4)
            assert k26[18, 2] == shoulders[:, 2].min()
        else:
            assert not k26[18].any()
        if (hips[:, 2] > 0).all():
            np.testing.assert_allclose(k26[19, :2], hips[:, :2].mean(0), atol=6e-4)
        else:
            assert not k26[19].any()
        e, n = ears[:, :2].mean(0), shoulders[:, :2].mean(0)
        head = e + 0.6 * (e - n)
        if (ears[:, 2] > 0).all() and (shoulders[:, 2] > 0).all() \
                and (0 <= head).all() and (head < sizes[a["image_id"]]).all():
            np.testing.assert_allclose(k26[17, :2], head, atol=6e-4)
            assert k26[17, 2] == 1                                   # an estimate: v=1
        else:
            assert not k26[17].any()
        counts += k26[:, 2] > 0
    assert counts[17] > 5 and counts[18] > 30 and counts[19] > 30
    # a head extrapolated out of the image stays unlabelled
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "build_halpe26_mini", os.path.join(ROOT, "tools", "build_halpe26_mini.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    small = dict(src, images=[dict(e, width=10, height=10) for e in src["images"]])
    assert not any(np.array(a["keypoints"]).reshape(26, 3)[17].any()
                   for a in tool.build(small)["annotations"])


def test_dataset_reads_the_halpe26_schema():
    ds = COCOKeyPoints(mini_coco_root(), SPLIT, image_format="numpy")
    assert ds.schema.name == "halpe26" and ds.schema == HALPE_26
    assert ds.num_joints == 26
    assert ds.joint_pairs[-3:] == [[20, 21], [22, 23], [24, 25]]
    coco = COCOKeyPoints(mini_coco_root(), "person_keypoints_train2017", image_format="numpy")
    assert len(ds) == len(coco)
    np.testing.assert_array_equal(ds.label(0)["joints_3d"][:17], coco.label(0)["joints_3d"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch on 8 Halpe-26 instances through the training engine."""
    from gluonpose.engine import TRAIN_DEFAULTS, make_config, train
    work = tmp_path_factory.mktemp("halpe")
    cfg = make_config(TRAIN_DEFAULTS, {
        "model": MODEL, "data_dir": mini_coco_root(), "split": SPLIT, "input_size": SIZE,
        "batch_size": 4, "max_samples": 8, "num_epochs": 1, "lr": 1e-3, "wd": 0.0,
        "half_body_prob": 0.5, "num_data_workers": 0, "seed": 0,
        "save_dir": str(work / "params"), "save_frequency": 1, "log_interval": 0,
        "logging_file": None, "progress": False})
    result = train(cfg, console=False, echo=lambda line: None)
    return work, result


def test_train_then_evaluate_on_halpe26(trained):
    from gluonpose.engine import EVAL_DEFAULTS, evaluate, make_config
    work, result = trained
    assert os.path.isfile(result.params_file)
    assert np.isfinite(result.epochs[-1]["loss"])
    lines = []
    ev = evaluate(make_config(EVAL_DEFAULTS, {
        "model": MODEL, "data_dir": mini_coco_root(), "split": SPLIT, "input_size": SIZE,
        "params_file": result.params_file, "max_samples": 8, "batch_size": 8,
        "num_data_workers": 0, "output_dir": str(work), "progress": False}),
        echo=lines.append)
    assert len(lines) == 1 and lines[0].startswith("AP ")
    assert "split=coco_mini/%s" % SPLIT in lines[0] and "input 64x64" in lines[0]
    assert np.isfinite(ev.ap)
    dets = json.load(open(ev.results_file))
    assert len(dets) == 8 and all(len(d["keypoints"]) == 26 * 3 for d in dets)
    rec = json.load(open(ev.protocol_file))
    assert rec["schema"] == "halpe26" and rec["kpt_oks_sigmas"] == HALPE_26.sigmas.tolist()
    assert rec["pose_nms"] == "none"

    # drawing with the Halpe skeleton: ground truth (the neck-to-pelvis link, which COCO's
    # skeleton lacks, is drawn) and the prediction
    from gluonpose.utils.viz import cv_plot_keypoints
    ds = COCOKeyPoints(mini_coco_root(), SPLIT, image_format="numpy")
    idx = next(i for i in range(len(ds)) if ds.records[i]["joints_3d"][[18, 19], 0, 1].all())
    img, label, img_id = ds[idx]
    joints = label["joints_3d"]
    drawn = cv_plot_keypoints(img, joints[None, :, :2, 0], joints[None, :, 0, 1:2],
                              keypoint_thresh=0, schema=HALPE_26)
    assert drawn.shape == img.shape and (drawn != img).any()
    mid = np.round(joints[[18, 19], :2, 0].mean(0)).astype(int)
    assert (drawn[mid[1], mid[0]] != img[mid[1], mid[0]]).any()
    coco_drawn = cv_plot_keypoints(img, joints[None, :17, :2, 0], joints[None, :17, 0, 1:2],
                                   keypoint_thresh=0, schema=COCO_PERSON)
    assert (coco_drawn[mid[1], mid[0]] == img[mid[1], mid[0]]).all()
    coords, maxvals, ids, _ = ev.preds
    pos = int(np.flatnonzero(ids == img_id)[0])
    drawn = cv_plot_keypoints(img, coords[pos][None], maxvals[pos][None],
                              keypoint_thresh=-np.inf, schema="halpe26")
    assert (drawn != img).any()


def test_metric_parametric_nms_merges_a_duplicate(tmp_path):
    """Ground-truth poses as predictions plus a jittered, lower-scored copy of one of them."""
    import warnings
    from gluonpose.utils.metrics import COCOKeyPointsMetric
    from gluonpose.utils.metrics.coco_keypoints import instance_scores
    ds = COCOKeyPoints(mini_coco_root(), SPLIT, image_format="numpy")
    recs = ds.records
    xy = np.stack([r["joints_3d"][:, :2, 0] for r in recs]).astype(np.float64)
    vis = np.stack([r["joints_3d"][:, 0, 1] for r in recs]) > 0
    # a network places every joint: unlabelled ones go near the person's labelled centroid
    # (not all at (0, 0), which would make different people match there) with score 0.1
    rng = np.random.RandomState(0)
    for i in range(len(recs)):
        centre = xy[i][vis[i]].mean(axis=0)
        xy[i][~vis[i]] = centre + rng.uniform(-5, 5, ((~vis[i]).sum(), 2))
    conf = np.where(vis, 0.9, 0.1)[:, :, None]
    boxes = np.array([r["bbox"] for r in recs], np.float64)
    ids = np.array([r["image_id"] for r in recs])
    dup_xy = xy[3] + [0.3, 0.4]                       # 0.5 px from pose 3 at every joint
    preds = np.concatenate([xy, dup_xy[None]])
    maxvals = np.concatenate([conf, conf[3:4] * (2 / 3.0)])
    box_scores = np.ones(len(recs) + 1)
    all_ids = np.concatenate([ids, ids[3:4]])
    all_boxes = np.concatenate([boxes, boxes[3:4]])
    areas = np.prod(all_boxes[:, 2:] - all_boxes[:, :2], axis=1)
    out = {}
    for method in ("none", "parametric"):
        metric = COCOKeyPointsMetric(ds, save_prefix=str(tmp_path / method), use_time=False,
                                     schema=ds.schema, pose_nms=method)
        metric.update(preds, maxvals, box_scores, all_ids, area=areas, boxes=all_boxes)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            names, ap = metric.get()
        out[method] = (json.load(open(metric.results_file)), ap,
                       json.load(open(metric.protocol_file)))
    res, ap, rec = out["parametric"]
    assert rec["pose_nms"] == "parametric" and rec["num_results"] == len(recs)
    assert len(out["none"][0]) == len(recs) + 1
    # pose 3 absorbed the copy (scores 2/3 of pose 3's): weights 0.9 / 1.5 = 0.6 and
    # 0.6 / 1.5 = 0.4 at every joint, so each joint moves by 0.4 * (0.3, 0.4) = (0.12, 0.16);
    # labelled joints score 0.9 * 0.6 + 0.6 * 0.4 = 0.78, the others 0.1 * 0.6 + 0.0667 * 0.4
    merged = np.array(res[3]["keypoints"]).reshape(26, 3)
    np.testing.assert_allclose(merged[:, :2], xy[3] + [0.12, 0.16], atol=1e-4)
    np.testing.assert_allclose(merged[:, 2], np.where(vis[3], 0.78, 0.1 * 0.6 + 0.4 / 15),
                               rtol=1e-6)
    assert res[3]["score"] == pytest.approx(float(instance_scores(merged[None, :, 2], [1])[0]))
    assert res[3]["score"] == pytest.approx(0.78)
    for i in (0, 1, 2, 4):                            # the others are unchanged
        np.testing.assert_allclose(np.array(res[i]["keypoints"]).reshape(26, 3)[:, :2], xy[i],
                                   rtol=1e-6)
    # ground-truth poses, the duplicate merged in (moved 0.2 px): AP 1 with the Halpe sigmas
    assert ap == pytest.approx(1.0) and out["none"][1] <= ap


@pytest.mark.filterwarnings("ignore:COCOKeyPointsMetric")
def test_eval_cli_pose_nms_choice_is_recorded(trained, capsys):
    from gluonpose.cli import main
    work, result = trained
    common = ["eval", "--model", MODEL, "--data-dir", "mini", "--split", SPLIT,
              "--input-size", SIZE, "--params-file", result.params_file, "--max-samples", "8",
              "-j", "0", "--no-progress", "--output-dir", str(work)]
    for method, shown in (("parametric", "pose_nms=parametric"), ("soft-oks", "pose_nms=soft-oks"),
                          ("oks", "pose_nms=oks(0.9)")):
        rc = main(common + ["--pose-nms", method])
        out = capsys.readouterr().out
        assert rc == 0
        line = [l for l in out.splitlines() if l.startswith("AP ")][0]
        assert shown in line, line
        protocol = [l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("protocol: ")][0]
        rec = json.load(open(protocol))
        assert rec["pose_nms"] == method and rec["protocol"]["pose_nms"] == shown.split("=")[1]
        assert rec["oks_nms"] == (0.9 if method == "oks" else None)
    # the old option keeps its meaning; contradicting options are one line, status 1
    rc = main(common + ["--oks-nms", "0.8"])
    out = capsys.readouterr().out
    rec = json.load(open([l.split(": ", 1)[1] for l in out.splitlines()
                          if l.startswith("protocol: ")][0]))
    assert rc == 0 and rec["pose_nms"] == "oks" and rec["oks_nms"] == 0.8
    assert main(common + ["--oks-nms", "0.8", "--pose-nms", "parametric"]) == 1
    err = capsys.readouterr().err
    assert "does not combine with --pose-nms parametric" in err and len(err.splitlines()) == 1
    assert main(common + ["--pose-nms", "greedy"]) == 1
    assert "--pose-nms" in capsys.readouterr().err


def test_predictor_pose_nms_choice(trained):
    from gluonpose.inference import Predictor
    _, result = trained
    ds = COCOKeyPoints(mini_coco_root(), SPLIT, image_format="numpy")
    img, label, _ = ds[0]
    box = np.asarray(label["bbox"], float)
    boxes = np.stack([box, box])                       # the same person twice
    outs = {}
    for method in ("none", "oks", "soft-oks", "parametric"):
        p = Predictor(MODEL, params_file=result.params_file, input_size=SIZE, schema="halpe26",
                      pose_nms=method, progress=False)
        assert p.pose_nms == method
        outs[method] = p.predict(img, boxes=boxes, scores=[0.9, 0.9])
    assert len(outs["none"]) == 2 and len(outs["soft-oks"]) == 2 and len(outs["oks"]) == 1
    assert outs["none"][0].keypoints.shape == (26, 3)
    # two identical poses merge into the same pose (or both fall under the 0.3 score floor)
    ref = outs["none"][0].keypoints
    if ref[:, 2].max() >= 0.3:
        assert len(outs["parametric"]) == 1
        np.testing.assert_allclose(outs["parametric"][0].keypoints, ref, rtol=1e-5, atol=1e-5)
    else:
        assert len(outs["parametric"]) == 0
    with pytest.raises(ValueError, match="pose_nms must be one of"):
        Predictor(MODEL, params_file=result.params_file, input_size=SIZE, schema="halpe26",
                  pose_nms="greedy", progress=False)


def test_predict_cli_pose_nms_option(tmp_path):
    """``gluonpose predict --pose-nms`` reaches the Predictor; --oks-nms keeps its meaning."""
    import mxnet as mx
    from gluonpose.cli import build_parser
    from gluonpose.inference.cli import _predictor
    from gluonpose.model_zoo import get_model
    net = get_model(MODEL)
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 64, 64)))
    params = str(tmp_path / "net.params")
    net.save_parameters(params)
    base = ["predict", "x.jpg", "--model", MODEL, "--params", params, "--input-size", SIZE]
    parser = build_parser()
    for extra, method, thresh in (([], "oks", 0.9), (["--oks-nms", "0"], "none", None),
                                  (["--pose-nms", "parametric"], "parametric", 0.9),
                                  (["--pose-nms", "soft-oks"], "soft-oks", 0.9),
                                  (["--pose-nms", "oks", "--oks-nms", "0.7"], "oks", 0.7)):
        p = _predictor(parser.parse_args(base + extra))
        assert (p.pose_nms, p.oks_nms_thresh) == (method, thresh)
