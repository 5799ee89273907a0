"""Exact resume, graceful SIGTERM/SIGINT and corrupt-checkpoint fallback, through the real CLI.

Every run trains simple_pose_resnet18_v1b at 64x64 on the first 12 instances
of the bundled set, 2 per batch, 3 epochs (18 updates), data-loader workers 0.
"""
import os
import shutil
import signal
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from gluonpose.cli import main
from gluonpose.engine import checkpoint as ck

MODEL = "simple_pose_resnet18_v1b"
RUN = ["--model", MODEL, "--data-dir", "mini", "--input-size", "64,64", "--batch-size", "2",
       "--max-samples", "12", "--num-epochs", "3", "--lr", "0.002", "--lr-decay-epoch", "2",
       "-j", "0", "--seed", "11", "--no-progress", "--log-interval", "0"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _params(path):
    return {k: v.asnumpy() for k, v in mx.nd.load(path).items()}


def _assert_same(a, b, tol=1e-5):
    pa, pb = _params(a), _params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_allclose(pb[k], pa[k], rtol=tol, atol=tol, err_msg=k)


def _final(save_dir):
    return os.path.join(str(save_dir), "%s-2.params" % MODEL)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its final parameters are what every resume must reach."""
    d = tmp_path_factory.mktemp("reference")
    assert main(["train"] + RUN + ["--save-dir", str(d)]) == 0
    return d


def test_stop_after_epoch_then_resume_equals_uninterrupted(reference, tmp_path, capsys):
    d = tmp_path / "run"
    assert main(["train"] + RUN + ["--save-dir", str(d), "--stop-after", "1"]) == 0
    assert sorted(p for p in os.listdir(d) if p.endswith(".params")) == ["%s-0.params" % MODEL]
    # only the save dir and --resume: the rest of the configuration comes from the checkpoint
    assert main(["train", "--resume", "auto", "--save-dir", str(d), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "resumed from %s-0: epoch 1, batch 0, iteration 6" % MODEL in out
    _assert_same(_final(reference), _final(d))
    # the log continues: one epoch record per epoch, no duplicates
    import json
    epochs = [json.loads(l)["epoch"] for l in open(d / "train_log.jsonl")
              if '"type": "epoch"' in l]
    assert epochs == [0, 1, 2]
    assert os.path.getsize(d / "train_curves.png") > 0


def test_data_loader_workers_do_not_change_the_result(reference, tmp_path):
    """Augmentation is keyed by (seed, epoch, index), not by the process that draws it."""
    d = tmp_path / "run"
    args = ["train"] + RUN + ["--save-dir", str(d)]
    args[args.index("-j") + 1] = "2"
    assert main(args) == 0
    _assert_same(_final(reference), _final(d), tol=0)


def _signal_run(tmp_path, sig):
    """Start a training subprocess, signal it during epoch 0, return (rc, out, err, save_dir)."""
    d = tmp_path / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "gluonpose", "train"] + RUN + ["--save-dir", str(d),
                                                                 "--log-interval", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("Epoch[0] Batch [2]"):
            proc.send_signal(sig)
            break
    out, err = proc.communicate(timeout=120)
    return proc.returncode, "".join(seen) + out, err, d


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_saves_a_valid_checkpoint_and_resume_is_exact(reference, tmp_path, sig):
    rc, out, err, d = _signal_run(tmp_path, sig)
    name = signal.Signals(sig).name
    assert rc == 128 + sig, (rc, out, err)
    assert "Traceback" not in err
    assert "%s received" % name in out
    found = ck.resolve_resume("auto", str(d), MODEL, warn=pytest.fail)
    assert found is not None and found.meta["reason"] == name
    found.verify()
    assert found.iteration >= 2
    mx.nd.load(found.params_file)                      # a loadable parameter file
    # continuing from wherever it stopped (usually mid-epoch) reproduces the full run
    assert main(["train", "--resume", "auto", "--save-dir", str(d), "--no-progress"]) == 0
    _assert_same(_final(reference), _final(d))


def test_corrupt_latest_checkpoint_falls_back_to_previous_good(reference, tmp_path, capsys):
    d = tmp_path / "run"
    shutil.copytree(reference, d)
    latest = d / ("%s-2.params" % MODEL)
    with open(latest, "r+b") as f:                     # a torn write
        f.truncate(os.path.getsize(latest) // 2)
    # an interrupted save: parameters without a manifest, newer than everything
    shutil.copy(d / ("%s-1.params" % MODEL), d / ("%s-9.params" % MODEL))
    lines = []
    found = ck.resolve_resume("auto", str(d), MODEL, warn=lines.append)
    assert found.name == "%s-1" % MODEL
    assert any("%s-2 is corrupt" % MODEL in l and "falling back" in l for l in lines), lines
    assert any("%s-9.params" % MODEL in l and "no manifest" in l for l in lines), lines
    # an explicitly named corrupt checkpoint falls back the same way
    assert ck.resolve_resume(str(latest), str(d), MODEL, warn=lambda m: None).name == found.name

    # the CLI says so in one line and ends where the uninterrupted run ended
    os.remove(d / ("%s-9.params" % MODEL))
    assert main(["train", "--resume", "auto", "--save-dir", str(d), "--no-progress"]) == 0
    cap = capsys.readouterr()
    warn = [l for l in cap.err.splitlines() if "corrupt" in l]
    assert len(warn) == 1 and str(latest) in warn[0]
    assert "resumed from %s-1" % MODEL in cap.out
    _assert_same(_final(reference), _final(d))


def test_resume_without_any_good_checkpoint_is_a_one_line_error(tmp_path, capsys):
    d = tmp_path / "run"
    d.mkdir()
    (d / ("%s-0.ckpt.json" % MODEL)).write_text("{not json")
    rc = main(["train"] + RUN + ["--save-dir", str(d), "--resume", "auto"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1].startswith("gluonpose: error: no usable checkpoint")
    rc = main(["train"] + RUN + ["--save-dir", str(d), "--resume", str(d / "nothing.params")])
    assert rc == 1
    assert "checkpoint not found" in capsys.readouterr().err
