"""Associative Embedding on the bottom-up spine: supervision, engine runs, exact resume,
evaluation and the Predictor.

The engine runs train ``ae_hourglass_2stack_light_coco`` at 64x64 on the first
images of the bundled set, one or two images per device on two CPU contexts,
with data-loader workers 0.
"""
import json
import math
import os

import mxnet as mx
import numpy as np
import pytest

from gluonpose.cli import main
from gluonpose.engine.supervision import AESupervision, Supervision
from gluonpose.loss import AssociativeEmbeddingLoss
from gluonpose.model_zoo import get_model_spec
from test_resume import _assert_same

LIGHT = "ae_hourglass_2stack_light_coco"
RUN = ["--model", LIGHT, "--data-dir", "mini", "--input-size", "64", "--batch-size", "2",
       "--ctx", "cpu:0,cpu:1", "-j", "0", "--seed", "5", "--lr", "1e-3", "--no-progress",
       "--log-interval", "0"]
TERMS = ["loss_stack%d_%s" % (s, t) for s in (1, 2) for t in ("det", "pull", "push")]


def _records(save_dir):
    with open(os.path.join(str(save_dir), "train_log.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_ae_supervision_targets_loss_and_metric():
    spec = get_model_spec(LIGHT)
    sup = Supervision.for_spec(spec, (64, 64), (16, 16))
    assert isinstance(sup, AESupervision) and sup.multi
    assert sup.names == [t[len("loss_"):] for t in TERMS]
    with pytest.raises(ValueError, match="square"):
        Supervision.for_spec(spec, (64, 128), (16, 32))
    # two people, one joint of the second outside the input
    joints = np.zeros((2, 17, 3), np.float32)
    joints[0, :, :2] = np.linspace(4, 56, 34).reshape(17, 2)
    joints[1, :, :2] = np.linspace(8, 60, 34).reshape(17, 2)[::-1]
    joints[..., 2] = 2
    joints[1, 3, 2] = 0
    (heat, refs), mask = sup.encoder.encode(joints, (64, 64), np.ones((64, 64), np.float32))
    assert heat.shape == (17, 16, 16) and mask.shape == (16, 16)
    assert refs.shape == (spec.max_people, 17, 2)
    assert refs[0, :, 1].sum() == 17 and refs[1, :, 1].sum() == 16 and refs[2:].sum() == 0
    # flat index k*h*w + y*w + x of the cell the joint falls in (4 input pixels a cell)
    x, y = np.round(joints[0, 5, :2] / 4).astype(int)
    assert refs[0, 5, 0] == 5 * 256 + y * 16 + x

    # every stack gets the three terms of AssociativeEmbeddingLoss; the total weighs them
    rng = np.random.RandomState(0)
    outs = tuple(mx.nd.array(rng.uniform(-1, 1, (1, 34, 16, 16))) for _ in range(2))
    batch = [mx.nd.array(heat[None]), mx.nd.array(refs[None])]
    total, terms = sup.loss(outs, batch, mx.nd.array(mask[None]))
    assert len(terms) == 6
    ref_loss = AssociativeEmbeddingLoss()
    for s, out in enumerate(outs):
        want = ref_loss.terms(out, batch[0], mx.nd.array(mask[None]), batch[1])
        for got, w in zip(terms[3 * s:3 * s + 3], want):
            np.testing.assert_allclose(got.asnumpy(), w.asnumpy(), rtol=1e-6)
    w_det, w_pull, w_push = spec.loss_weights
    want_total = sum(w * float(t.asscalar()) for w, t in
                     zip([w_det, w_pull, w_push] * 2, terms))
    assert float(total.asscalar()) == pytest.approx(want_total, rel=1e-5)
    target, output = sup.metric_pair(outs, batch)
    assert target is batch[0] and output.shape == (1, 17, 16, 16)
    np.testing.assert_array_equal(output.asnumpy(), outs[-1].asnumpy()[:, :17])


def test_two_contexts_log_every_stack_and_term(tmp_path):
    d = tmp_path / "run"
    assert main(["train"] + RUN + ["--max-samples", "4", "--num-epochs", "1",
                                   "--save-dir", str(d)]) == 0
    epochs = [r for r in _records(d) if r["type"] == "epoch"]
    assert len(epochs) == 1 and epochs[0]["iterations"] == 1 and epochs[0]["samples"] == 4
    rec = epochs[0]
    for key in ["loss", "heatmap_accuracy"] + TERMS:
        assert rec[key] is not None and math.isfinite(rec[key]), key
    w_det, w_pull, w_push = get_model_spec(LIGHT).loss_weights
    weights = [w_det, w_pull, w_push] * 2
    assert rec["loss"] == pytest.approx(sum(w * rec[k] for w, k in zip(weights, TERMS)),
                                        rel=1e-5)
    assert os.path.getsize(d / "train_curves.png") > 0


def test_ae_resume_equals_uninterrupted_then_eval_and_predict(tmp_path, capsys):
    args = RUN + ["--max-samples", "2", "--num-epochs", "2", "--batch-size", "1"]
    ref, d = tmp_path / "ref", tmp_path / "run"
    assert main(["train"] + args + ["--save-dir", str(ref)]) == 0
    assert main(["train"] + args + ["--save-dir", str(d), "--stop-after", "1"]) == 0
    assert main(["train", "--resume", "auto", "--save-dir", str(d), "--no-progress"]) == 0
    assert "resumed from %s-0: epoch 1, batch 0, iteration 1" % LIGHT in capsys.readouterr().out
    final = str(d / ("%s-1.params" % LIGHT))
    _assert_same(str(ref / ("%s-1.params" % LIGHT)), final, tol=0)

    # gluonpose eval: the AE protocol (flip, three scales) states itself in the AP line
    out = tmp_path / "eval"
    assert main(["eval", "--model", LIGHT, "--data-dir", "mini", "--params-file", final,
                 "--max-samples", "2", "--input-size", "64", "--flip-test",
                 "--scales", "1,0.5", "--no-progress", "--output-dir", str(out)]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("AP ")][-1]
    for part in ("boxes=none", "flip", "scales=[1.0, 0.5]", "codec=ae(", "input_size=64"):
        assert part in line, (part, line)
    record = json.load(open([str(out / f) for f in os.listdir(out)
                             if f.endswith(".protocol.json")][0]))
    assert record["protocol"]["flip"] is True

    # the Predictor becomes the bottom-up one and runs the same protocol
    import gluonpose
    from gluonpose.data import mini_coco_root
    from gluonpose.engine.ae_forward import predict_ae
    pred = gluonpose.Predictor(LIGHT, params_file=final, input_size=64, progress=False)
    assert type(pred).__name__ == "BottomUpPredictor"
    assert "ae(" in pred.describe()
    image = os.path.join(mini_coco_root(), "train2017", "000000000790.jpg")
    people = pred(image)
    import cv2
    rgb = cv2.imread(image)[:, :, ::-1]
    kps, scores = predict_ae(pred.net, pred.spec, rgb, input_size=64)
    assert len(people) == len(kps)
    for person in people:
        assert person.keypoints.shape == (17, 3)
