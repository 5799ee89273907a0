"""``gluonpose train|eval`` and the GluonCV-named scripts on the bundled mini set."""
import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gluonpose.cli import eval_main, main, train_main
from gluonpose.data import mini_coco, mini_coco_root

MODEL = "simple_pose_resnet18_v1b"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--model", MODEL, "--data-dir", "mini", "--input-size", "64,64", "-j", "0",
        "--no-progress"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A few updates of training through the GluonCV-named script, with GluonCV's flags."""
    d = tmp_path_factory.mktemp("train")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = train_main(TINY + ["--num-joints", "17", "--batch-size", "4", "--max-samples", "8",
                                "--num-epochs", "1", "--lr", "0.001", "--wd", "0",
                                "--lr-mode", "step", "--lr-decay-epoch", "90,120",
                                "--num-gpus", "0", "--mode", "hybrid", "--save-dir", str(d),
                                "--save-frequency", "1", "--log-interval", "1",
                                "--logging-file", "keypoints.log", "--dtype", "float32",
                                "--warmup-epochs", "0", "--warmup-lr", "0.1", "--no-wd",
                                "--last-gamma", "--sigma", "2", "--mean", "0.485,0.456,0.406",
                                "--std", "0.229,0.224,0.225"])
    text = out.getvalue()
    assert rc == 0, text
    for flag in ("--warmup-lr", "--no-wd", "--last-gamma"):   # dead GluonCV flags say so
        assert "%s has no effect" % flag in text
    assert "Epoch[0] Batch [1]" in text                     # GluonCV-style log lines
    assert os.path.isfile(d / "keypoints.log")
    rec = [json.loads(l) for l in open(d / "train_log.jsonl")]
    epoch = [r for r in rec if r["type"] == "epoch"][0]
    for key in ("epoch", "iterations", "loss", "heatmap_accuracy", "lr", "samples_per_sec",
                "wall_time"):
        assert key in epoch
    return str(d / ("%s-0.params" % MODEL))


def _eval(capsys, *args):
    rc = main(["eval"] + TINY + list(args))
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    return cap.out


def _paths(out):
    results = [l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("results: ")][0]
    protocol = [l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("protocol: ")][0]
    return results, protocol


def test_eval_writes_results_and_protocol_and_matches_pycocotools(weights, tmp_path, capsys):
    from pycocotools.cocoeval import COCOeval
    from gluonpose.model_zoo.model_store import file_sha1

    out = _eval(capsys, "--params-file", weights, "--output-dir", str(tmp_path))
    ap_lines = [l for l in out.splitlines() if l.startswith("AP ")]
    assert len(ap_lines) == 1
    line = ap_lines[0]
    for part in ("gt boxes", "no flip", "codec=msra(sigma=2)", "input 64x64",
                 "split=coco_mini/person_keypoints_train2017", "model=%s" % MODEL,
                 "weights_sha1=%s" % file_sha1(weights)):
        assert part in line, line
    results, protocol = _paths(out)
    rec = json.load(open(protocol))
    assert rec["protocol"]["boxes"] == "gt" and rec["protocol"]["flip"] is False
    assert rec["protocol"]["weights_sha1"] == file_sha1(weights)
    dets = json.load(open(results))
    assert len(dets) == len(mini_coco()) == rec["num_results"]

    # the reported numbers are pycocotools' on the written file
    coco = mini_coco().coco
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(results), "keypoints")
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    np.testing.assert_allclose(list(rec["stats"].values()), ev.stats, atol=1e-12)
    assert "AP %.3f " % ev.stats[0] in line


def test_eval_flip_unbiased_and_detector_boxes(weights, tmp_path, capsys):
    # detector boxes equal to the GT boxes (score 1) must give the GT-box numbers
    ann = json.load(open(os.path.join(mini_coco_root(), "annotations",
                                      "person_keypoints_train2017.json")))
    dets = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 1.0}
            for a in ann["annotations"] if a.get("num_keypoints", 0) > 0 and not a["iscrowd"]]
    det_file = tmp_path / "dets.json"
    det_file.write_text(json.dumps(dets))
    common = ["--params-file", weights, "--output-dir", str(tmp_path), "--flip-test",
              "--codec", "unbiased"]
    gt = [l for l in _eval(capsys, *common).splitlines() if l.startswith("AP ")][0]
    det = [l for l in _eval(capsys, *common, "--det-file", str(det_file)).splitlines()
           if l.startswith("AP ")][0]
    assert "gt boxes, flip, codec=unbiased(" in gt
    assert "det boxes, det_file=dets.json, flip, codec=unbiased(" in det
    assert gt.split(" [")[0] == det.split(" [")[0]


def test_oracle_reproduces_the_codec_oracle(tmp_path, capsys):
    from gluonpose.utils.oracle import oracle_ap
    out = _eval(capsys, "--oracle", "--input-size", "128,96", "--sigma", "1",
                "--output-dir", str(tmp_path))
    ref = oracle_ap(mini_coco(), "msra", image_size=(128, 96), sigma=1)
    line = [l for l in out.splitlines() if l.startswith("oracle AP")][0]
    assert line == ref.summary()
    results, protocol = _paths(out)
    assert json.load(open(protocol))["stats"]["AP"] == pytest.approx(ref.ap, abs=1e-12)
    assert os.path.isfile(results)


def test_validate_script_accepts_gluoncv_options(weights, tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = eval_main(TINY + ["--num-joints", "17", "--batch-size", "16", "--num-gpus", "0",
                               "--params-file", weights, "--score-threshold", "0",
                               "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225",
                               "--output-dir", str(tmp_path), "--ctx", "cpu:0,cpu:1"])
    assert rc == 0
    assert "[gt boxes, no flip, codec=msra" in out.getvalue()


@pytest.mark.parametrize("args, message", [
    (["train", "--model", MODEL, "--data-dir", "/no/such/coco"], "data directory not found"),
    (["eval", "--model", MODEL, "--data-dir", "/no/such/coco"], "data directory not found"),
    (["train", "--model", "simple_pose_resnet19", "--data-dir", "mini"], "not in gluonpose's"),
    (["train", "--model", MODEL, "--data-dir", "mini", "--input-size", "256"], "--input-size"),
    (["train", "--model", MODEL, "--data-dir", "mini", "--input-size", "64,48", "-j", "0",
      "--batch-size", "4"], "multiples of 32"),
    (["eval", "--model", MODEL, "--data-dir", "mini", "--params-file", "/no/such.params"],
     "--params-file not found"),
    (["train", "--model", MODEL, "--data-dir", "mini", "--resume", "/no/such.params"],
     "checkpoint not found"),
    (["train", "--model", MODEL, "--data-dir", "mini", "--num-gpus", "2"], "GPU"),
    (["eval", "--model", MODEL, "--data-dir", "mini", "--deploy"], "not supported"),
    (["train", "--model", MODEL, "--batch-size", "x"], "invalid int value"),
])
def test_bad_input_is_one_line_and_exit_1(args, message, capsys):
    rc = main(args)
    cap = capsys.readouterr()
    lines = [l for l in cap.err.splitlines() if l.strip()]
    assert len(lines) == 1, cap.err
    assert "error:" in lines[0] and message in lines[0]
    assert rc == 1


def test_console_entry_points(tmp_path):
    """``python -m gluonpose`` and the script files: exit status 1 and one line on bad input."""
    env = dict(os.environ)
    for cmd in ([sys.executable, "-m", "gluonpose", "eval", "--model", MODEL, "--data-dir",
                 str(tmp_path / "missing")],
                [sys.executable, os.path.join(ROOT, "scripts", "train_simple_pose.py"),
                 "--model", MODEL, "--data-dir", "mini", "--input-size", "abc"]):
        res = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 1, res.stderr
        lines = [l for l in res.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and "error:" in lines[0], res.stderr


def test_train_on_two_cpu_contexts(tmp_path, capsys):
    """--ctx cpu:0,cpu:1: the batch size is per device and the kvstore reaches gluon.Trainer."""
    rc = main(["train"] + TINY + ["--ctx", "cpu:0,cpu:1", "--batch-size", "2", "--max-samples",
                                  "8", "--num-epochs", "1", "--lr", "0.001", "--kvstore",
                                  "local", "--save-dir", str(tmp_path), "--log-interval", "0"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "devices: cpu(0), cpu(1); 8 instances, 2 iterations/epoch of 4 (2 per device)" in out
    manifest = json.load(open(tmp_path / ("%s-0.ckpt.json" % MODEL)))
    assert manifest["contexts"] == ["cpu(0)", "cpu(1)"] and manifest["iteration"] == 2
    assert manifest["config"]["kvstore"] == "local"
