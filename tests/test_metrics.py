"""HeatmapAccuracy, COCOKeyPointsMetric and PCKh against GluonCV / pycocotools / hand values."""
import contextlib
import io
import json
import os
import types

import mxnet as mx
import numpy as np
import pytest

from gluonpose.data.schema import COCO_PERSON, MPII
from gluonpose.utils.metrics import (STAT_NAMES, COCOKeyPointsMetric, HeatmapAccuracy,
                                     PCKhAccuracy, head_size_from_boxes, pckh)


try:  # GluonCV is the reference oracle; our own behaviour is tested without it
    import gluoncv.utils.metrics as gcv_metrics
except ImportError:  # pragma: no cover
    gcv_metrics = None
needs_gluoncv = pytest.mark.skipif(gcv_metrics is None, reason="gluoncv not installed")
pycoco = pytest.importorskip("pycocotools.coco")
from pycocotools.cocoeval import COCOeval  # noqa: E402


# --------------------------------------------------------------------------- HeatmapAccuracy

def _gaussian_maps(centres, h, w, sigma=2.0):
    """(N, J, h, w) float32 Gaussians at integer ``centres`` (N, J, 2); NaN centre -> zero map."""
    ys, xs = np.arange(h)[:, None], np.arange(w)[None, :]
    cx, cy = centres[..., 0][..., None, None], centres[..., 1][..., None, None]
    maps = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2))
    return np.nan_to_num(maps).astype(np.float32)


def _random_pair(rng, n, j, h, w):
    """Labels with invisible joints and border joints; predictions near, far, noisy, negative."""
    centres = np.stack([rng.randint(0, w, (n, j)), rng.randint(0, h, (n, j))], -1).astype(float)
    border = rng.rand(n, j) < 0.2                     # joints on the first/last two rows/cols
    centres[border, 0] = rng.choice([0, 1, 2, w - 1], border.sum())
    centres[rng.rand(n, j) < 0.15] = np.nan           # invisible: zero target map
    label = _gaussian_maps(centres, h, w)
    k = max(2, int(0.1 * min(h, w)))                  # errors around the 0.5 threshold
    shift = rng.randint(-k, k + 1, (n, j, 2)).astype(float)
    pred_c = np.nan_to_num(centres, nan=h // 2) + shift
    pred_c[..., 0] = np.clip(pred_c[..., 0], 0, w - 1)
    pred_c[..., 1] = np.clip(pred_c[..., 1], 0, h - 1)
    pred = _gaussian_maps(pred_c, h, w) + 0.05 * rng.rand(n, j, h, w).astype(np.float32)
    noise = rng.rand(n, j) < 0.1
    pred[noise] = rng.rand(int(noise.sum()), h, w)
    negative = rng.rand(n, j) < 0.05                  # nothing detected
    pred[negative] = -rng.rand(int(negative.sum()), h, w)
    return label, pred


@needs_gluoncv
@pytest.mark.parametrize("seed,shape", [(0, (64, 48)), (1, (32, 24)), (2, (20, 30)),
                                        (3, (96, 72)), (4, (8, 8))])
def test_heatmap_accuracy_compat_equals_gluoncv(seed, shape):
    rng = np.random.RandomState(seed)
    h, w = shape
    ours = HeatmapAccuracy(gluoncv_compat=True)
    ref = gcv_metrics.HeatmapAccuracy()
    for _ in range(3):                                 # several updates ...
        devices = [_random_pair(rng, n, 17, h, w) for n in (5, 3)]   # ... of two devices
        labels = [mx.nd.array(lab) for lab, _ in devices]
        preds = [mx.nd.array(pr) for _, pr in devices]
        ref.update(labels, preds)
        ours.update(labels, preds)
        assert ours.get()[1] == pytest.approx(ref.get()[1], rel=1e-12)
    assert ours.num_inst == ref.num_inst
    # numpy inputs give the same
    again = HeatmapAccuracy(gluoncv_compat=True)
    again.update([lab for lab, _ in devices], [pr for _, pr in devices])
    single = gcv_metrics.HeatmapAccuracy()
    single.update(labels, preds)
    assert again.get()[1] == pytest.approx(single.get()[1], rel=1e-12)


@needs_gluoncv
def test_heatmap_accuracy_compat_structured_cases():
    # every joint invisible except a few; all-equal predictions; peaks exactly on x=1 / y=1
    h, w = 64, 48
    centres = np.full((4, 5, 2), np.nan)
    centres[0, 0] = (1, 30)
    centres[1, 1] = (2, 2)
    centres[2, 2] = (47, 63)
    centres[3, 3] = (20, 1)
    label = _gaussian_maps(centres, h, w)
    pred = np.zeros_like(label)
    pred[2, 2] = _gaussian_maps(np.array([[[44, 63]]], float), h, w)[0, 0]
    ours, ref = HeatmapAccuracy(gluoncv_compat=True), gcv_metrics.HeatmapAccuracy()
    ours.update([mx.nd.array(label)], [mx.nd.array(pred)])
    ref.update([mx.nd.array(label)], [mx.nd.array(pred)])
    assert (ours.sum_metric, ours.num_inst) == (ref.sum_metric, ref.num_inst)
    assert ours.get()[1] == ref.get()[1]
    empty = HeatmapAccuracy(gluoncv_compat=True)
    empty.update([np.zeros((2, 3, 8, 8), np.float32)], [np.ones((2, 3, 8, 8), np.float32)])
    assert empty.num_inst == 0 and np.isnan(empty.get()[1])


def _one_joint(label_xy, pred_xy, h=64, w=48, label_scale=1.0):
    label = _gaussian_maps(np.array([[label_xy]], float), h, w) * label_scale
    pred = _gaussian_maps(np.array([[pred_xy]], float), h, w)
    return label, pred


@pytest.mark.parametrize("compat", [False, True])
def test_heatmap_accuracy_normaliser_by_hand(compat):
    # 64x48 map (h=64, w=48): x should be measured in w/10 = 4.8 px, y in h/10 = 6.4 px.
    # An x error of 3 px is 3/4.8 = 0.625 >= 0.5 -> miss; GluonCV divides x by 6.4
    # (0.47 -> hit). A y error of 3 px is 3/6.4 = 0.47 -> hit; GluonCV: 3/4.8 -> miss.
    def acc(label_xy, pred_xy):
        m = HeatmapAccuracy(gluoncv_compat=compat)
        m.update(*_one_joint(label_xy, pred_xy))
        return m.get()[1]
    assert acc((20, 30), (23, 30)) == (1.0 if compat else 0.0)
    assert acc((20, 30), (20, 33)) == (0.0 if compat else 1.0)
    # symmetric under the swap: (2, 2) -> 0.52 miss in both, (1, 1) -> 0.26 hit in both
    assert acc((20, 30), (22, 32)) == 0.0
    assert acc((20, 30), (21, 31)) == 1.0


def test_heatmap_accuracy_ignore_rules_by_hand():
    # joint 0: on column 1 (a real joint GluonCV drops); joint 1: invisible (zero map);
    # joint 2: correct; joint 3: prediction all negative (nothing detected) at a label
    # placed at (0, 0)-ish; joint 4: a weak label (max 0.3) still counts
    h, w = 64, 48
    lab_c = np.array([[[1, 40], [np.nan, np.nan], [30, 30], [1, 1], [25, 20]]], float)
    label = _gaussian_maps(lab_c, h, w)
    label[0, 4] *= 0.3
    pred = _gaussian_maps(np.array([[[1, 40], [5, 5], [30, 31], [0, 0], [25, 20]]], float), h, w)
    pred[0, 3] = -1.0
    default = HeatmapAccuracy()
    default.update([label], [pred])
    # valid: joints 0, 2, 3, 4; correct: 0, 2, 4 (3 is a miss: nothing predicted)
    assert (default.sum_metric, default.num_inst) == (3.0, 4)
    compat = HeatmapAccuracy(gluoncv_compat=True)
    compat.update([label], [pred])
    # GluonCV: joints 0 (x = 1) and 3 (x, y = 1) are ignored -> joints 2 and 4, both correct
    assert (compat.sum_metric, compat.num_inst) == (2.0, 2)
    if gcv_metrics is not None:
        ref = gcv_metrics.HeatmapAccuracy()
        ref.update([mx.nd.array(label)], [mx.nd.array(pred)])
        assert (ref.sum_metric, ref.num_inst) == (2.0, 2)


def test_heatmap_accuracy_reset_and_validation():
    m = HeatmapAccuracy()
    label, pred = _one_joint((20, 30), (20, 30))
    m.update(mx.nd.array(label), mx.nd.array(pred))        # bare arrays are accepted
    assert m.get() == ("heatmap_accuracy", 1.0)
    m.reset()
    assert m.num_inst == 0
    with pytest.raises(ValueError):
        m.update([label, label], [pred])
    with pytest.raises(ValueError):
        m.update([label], [pred[:, :, :10]])
    with pytest.raises(NotImplementedError):
        HeatmapAccuracy(hm_type="regression")


# --------------------------------------------------------------------------- COCO keypoints

def _synthetic_coco(rng, num_images=4, persons=(3, 2, 1, 3), num_joints=17):
    """A COCO keypoint annotation dict: several persons per image, mixed visibility."""
    images, anns = [], []
    aid = 1
    for i in range(num_images):
        images.append(dict(id=100 + i, width=640, height=480, file_name="%d.jpg" % i))
        for _ in range(persons[i % len(persons)]):
            x0, y0 = rng.uniform(0, 400), rng.uniform(0, 220)
            bw, bh = rng.uniform(60, 220), rng.uniform(120, 250)
            xy = np.stack([x0 + rng.uniform(0, bw, num_joints),
                           y0 + rng.uniform(0, bh, num_joints)], 1).round(2)
            vis = rng.choice([0, 1, 2], size=num_joints, p=[0.2, 0.2, 0.6])
            vis[:2] = 2
            xy[vis == 0] = 0
            kp = np.concatenate([xy, vis[:, None]], 1)
            anns.append(dict(id=aid, image_id=100 + i, category_id=1, iscrowd=0,
                             area=float(bw * bh * 0.6), bbox=[x0, y0, bw, bh],
                             keypoints=kp.ravel().tolist(), num_keypoints=int((vis > 0).sum())))
            aid += 1
    cat = dict(id=1, name="person", supercategory="person", keypoints=list(COCO_PERSON.keypoints),
               skeleton=[[int(a) + 1, int(b) + 1] for a, b in COCO_PERSON.skeleton])
    return dict(images=images, annotations=anns, categories=[cat])


@pytest.fixture
def coco_case(tmp_path):
    rng = np.random.RandomState(7)
    data = _synthetic_coco(rng)
    ann_file = tmp_path / "person_keypoints_synth.json"
    ann_file.write_text(json.dumps(data))
    # one prediction per GT person (perturbed keypoints) and two false positives
    gts = data["annotations"]
    preds, img_ids = [], []
    for ann in gts:
        kp = np.array(ann["keypoints"], float).reshape(17, 3)
        scale = rng.choice([2.0, 6.0, 15.0])
        preds.append(kp[:, :2] + rng.normal(0, scale, (17, 2)))
        img_ids.append(ann["image_id"])
    for img in (100, 102):
        preds.append(rng.uniform(0, 480, (17, 2)))
        img_ids.append(img)
    preds = np.array(preds, np.float32)
    n = len(preds)
    maxvals = rng.uniform(0, 1, (n, 17, 1)).astype(np.float32)
    maxvals[0] = 0.1                                 # no joint above in_vis_thresh -> score 0
    scores = rng.uniform(0.5, 1, n).astype(np.float32)
    return dict(ann_file=str(ann_file), data=data, preds=preds, maxvals=maxvals, scores=scores,
                img_ids=np.array(img_ids), tmp=tmp_path)


def _quiet():
    return contextlib.redirect_stdout(io.StringIO())


def _pycocotools_stats(ann_file, results, sigmas=COCO_PERSON.sigmas):
    """pycocotools run directly on a results list."""
    with _quiet():
        gt = pycoco.COCO(ann_file)
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.useSegm = None
        ev.params.kpt_oks_sigmas = np.asarray(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def _expected_results(case, thresh=0.2):
    out = []
    for i in range(len(case["preds"])):
        m = case["maxvals"][i, :, 0]
        sel = m[m > thresh].astype(np.float64)
        kscore = sel.mean() if sel.size else 0.0
        kps = np.concatenate([case["preds"][i], case["maxvals"][i]], 1).ravel()
        out.append(dict(image_id=int(case["img_ids"][i]), category_id=1,
                        keypoints=kps.tolist(), score=kscore * float(case["scores"][i])))
    return out


def _feed(metric, case, split=4, as_nd=True):
    conv = mx.nd.array if as_nd else (lambda a: a)
    n = len(case["preds"])
    for s in (slice(0, split), slice(split, n)):
        metric.update(conv(case["preds"][s]), conv(case["maxvals"][s]), conv(case["scores"][s]),
                      conv(case["img_ids"][s].astype(np.float32)))


PROTOCOL = {"boxes": "gt", "flip": True, "codec": "msra", "input_size": (256, 192),
            "split": "val2017", "model": "simple_pose_resnet18_v1b", "weights": "f63d42ac"}


def test_coco_metric_equals_pycocotools(coco_case):
    metric = COCOKeyPointsMetric(coco_case["ann_file"], save_prefix=str(coco_case["tmp"] / "res"),
                                 use_time=False, protocol=PROTOCOL)
    _feed(metric, coco_case)
    with _quiet():
        names, ap = metric.get()
    assert list(names) == list(STAT_NAMES) and ap == names["AP"]
    with open(metric.results_file) as f:
        written = json.load(f)
    expected = _expected_results(coco_case)
    assert len(written) == len(expected)
    for got, exp in zip(written, expected):
        assert (got["image_id"], got["category_id"]) == (exp["image_id"], exp["category_id"])
        assert got["keypoints"] == exp["keypoints"]
        assert got["score"] == pytest.approx(exp["score"], rel=1e-12, abs=0)
    # pycocotools called directly on our file and on an independently built list
    np.testing.assert_allclose(list(names.values()),
                               _pycocotools_stats(coco_case["ann_file"], metric.results_file),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(list(names.values()),
                               _pycocotools_stats(coco_case["ann_file"], expected), atol=1e-12)
    assert 0.1 < ap < 0.95                              # non-trivial
    # protocol record next to the results, and a one-line summary naming it
    assert metric.protocol_file == str(coco_case["tmp"] / "res.protocol.json")
    with open(metric.protocol_file) as f:
        record = json.load(f)
    assert record["protocol"]["model"] == "simple_pose_resnet18_v1b"
    assert record["stats"]["AP"] == pytest.approx(ap)
    assert record["num_results"] == len(expected)
    line = metric.summary()
    assert line.startswith("AP %.3f AP50 %.3f" % (ap, names["Ap .5"]))
    assert line.endswith("[gt boxes, flip, codec=msra, input 256x192, split=val2017, "
                         "model=simple_pose_resnet18_v1b, weights=f63d42ac]")
    assert "\n" not in line
    # nothing but the two files is left in the folder (the temp files were renamed)
    assert sorted(os.listdir(coco_case["tmp"])) == sorted(
        ["person_keypoints_synth.json", "res.json", "res.protocol.json"])


@needs_gluoncv
def test_coco_metric_matches_gluoncv_entries(coco_case):
    with _quiet():
        coco = pycoco.COCO(coco_case["ann_file"])
    dataset = types.SimpleNamespace(coco=coco)          # GluonCV only reads dataset.coco
    ref = gcv_metrics.COCOKeyPointsMetric(dataset, str(coco_case["tmp"] / "gcv"), use_time=False)
    ours = COCOKeyPointsMetric(dataset, save_prefix=str(coco_case["tmp"] / "ours"),
                               use_time=False)
    _feed(ref, coco_case)
    _feed(ours, coco_case, as_nd=False)                 # numpy input is accepted as well
    with _quiet():
        (ref_names, ref_ap), (names, ap) = ref.get(), ours.get()
    with open(ref._filename) as f:
        ref_entries = json.load(f)
    with open(ours.results_file) as f:
        entries = json.load(f)
    assert len(entries) == len(ref_entries)
    for got, exp in zip(entries, ref_entries):
        assert (got["image_id"], got["category_id"], got["keypoints"]) == (
            exp["image_id"], exp["category_id"], exp["keypoints"])
        assert got["score"] == pytest.approx(exp["score"], rel=1e-12, abs=0)
    assert list(names) == list(ref_names)
    np.testing.assert_allclose(list(names.values()), [float(v) for v in ref_names.values()],
                               atol=1e-12)
    assert ap == pytest.approx(ref_ap, abs=1e-12)


def test_coco_metric_oks_nms(coco_case):
    case = dict(coco_case)
    # a lower-scored near duplicate of prediction 1 (same image)
    dup = case["preds"][1] + 0.3
    case["preds"] = np.concatenate([case["preds"], dup[None]])
    case["maxvals"] = np.concatenate([case["maxvals"], case["maxvals"][1:2]])
    case["scores"] = np.concatenate([case["scores"], case["scores"][1:2] * 0.5])
    case["img_ids"] = np.concatenate([case["img_ids"], case["img_ids"][1:2]])
    plain = COCOKeyPointsMetric(case["ann_file"], save_prefix=str(case["tmp"] / "plain"),
                                use_time=False)
    nms = COCOKeyPointsMetric(case["ann_file"], save_prefix=str(case["tmp"] / "nms"),
                              use_time=False, oks_nms=0.9)
    _feed(plain, case)
    _feed(nms, case)
    with _quiet():
        plain_names, _ = plain.get()
        names, _ = nms.get()
    with open(nms.results_file) as f:
        kept = json.load(f)
    assert len(kept) == len(case["preds"]) - 1
    dup_xy = [float(v) for v in dup[0].astype(np.float32)]
    orig_xy = [float(v) for v in case["preds"][1, 0]]
    assert all(r["keypoints"][:2] != dup_xy for r in kept)      # the duplicate went,
    assert any(r["keypoints"][:2] == orig_xy for r in kept)     # the original stayed
    np.testing.assert_allclose(list(names.values()),
                               _pycocotools_stats(case["ann_file"], kept), atol=1e-12)
    # removing the duplicate false positive cannot lower AP
    assert names["AP"] >= plain_names["AP"]


def test_coco_metric_inputs_and_edge_cases(coco_case, tmp_path):
    with _quiet():
        coco = pycoco.COCO(coco_case["ann_file"])
    # COCO object, dataset with .coco, path: all accepted
    for src in (coco, types.SimpleNamespace(coco=coco), coco_case["ann_file"]):
        with _quiet():
            m = COCOKeyPointsMetric(src, save_prefix=str(tmp_path / "x"), use_time=False)
        assert m.coco.getImgIds() == coco.getImgIds()
    with pytest.raises(TypeError):
        COCOKeyPointsMetric(object(), save_prefix=str(tmp_path / "x"))
    with pytest.raises(RuntimeError):
        COCOKeyPointsMetric(coco, save_prefix=str(tmp_path / "missing_dir" / "x"))
    with pytest.raises(ValueError):
        COCOKeyPointsMetric(coco, save_prefix=str(tmp_path / "x"), schema=MPII)
    with pytest.raises(ValueError):
        COCOKeyPointsMetric(coco, save_prefix=str(tmp_path / "x"), data_shape=(1, 2, 3))
    # empty results: clear message and AP 0 instead of a pycocotools crash
    empty = COCOKeyPointsMetric(coco, save_prefix=str(tmp_path / "empty"), use_time=False)
    with pytest.warns(UserWarning, match="no predictions"):
        names, ap = empty.get()
    assert ap == 0.0 and list(names) == list(STAT_NAMES)
    assert json.load(open(empty.results_file)) == []
    assert empty.summary().endswith("[protocol not recorded]")
    # unknown image id
    bad = COCOKeyPointsMetric(coco, save_prefix=str(tmp_path / "bad"), use_time=False)
    bad.update(coco_case["preds"][:1], coco_case["maxvals"][:1], [1.0], [999])
    with pytest.raises(ValueError, match="not in the annotation file"):
        bad.get()
    # wrong joint count
    with pytest.raises(ValueError):
        bad.update(np.zeros((1, 16, 2)), np.zeros((1, 16, 1)), [1.0], [100])
    # cleanup removes both files when the metric goes away
    gone = COCOKeyPointsMetric(coco, save_prefix=str(tmp_path / "gone"), use_time=False,
                               cleanup=True, protocol={"split": "synthetic"})
    _feed(gone, coco_case)
    with _quiet():
        gone.get()
    files = (gone.results_file, gone.protocol_file)
    assert all(os.path.exists(p) for p in files)
    del gone
    assert not any(os.path.exists(p) for p in files)


def test_coco_metric_write_is_atomic(coco_case, monkeypatch):
    metric = COCOKeyPointsMetric(coco_case["ann_file"], save_prefix=str(coco_case["tmp"] / "res"),
                                 use_time=False)
    _feed(metric, coco_case)
    with _quiet():
        metric.get()
    before = open(metric.results_file).read()

    def broken_dump(obj, f, *args, **kwargs):
        f.write("[{\"image_id\": ")                    # a partial write, then a crash
        raise KeyboardInterrupt

    import gluonpose.utils.atomic as atomic   # where every atomic json write goes through
    monkeypatch.setattr(atomic.json, "dump", broken_dump)
    with pytest.raises(KeyboardInterrupt):
        metric.get()
    monkeypatch.undo()
    assert open(metric.results_file).read() == before   # previous results intact
    assert not [p for p in os.listdir(coco_case["tmp"]) if p.startswith(".tmp")]


# --------------------------------------------------------------------------- PCKh

def test_pckh_by_hand():
    gt = np.zeros((2, 3, 2))
    # errors: sample 0 -> 3, 5 (3-4-5 triangle, exactly at 0.5 * 10), 6 px; head 10
    #         sample 1 -> 12, 0 (not annotated), 9.9 px; head 20 (tolerance 10 px)
    pred = np.array([[[3, 0], [3, 4], [0, 6]], [[12, 0], [0, 0], [0, 9.9]]])
    visible = np.array([[1, 1, 1], [1, 0, 1]])
    per_joint, mean = pckh(pred, gt, visible, [10.0, 20.0])
    np.testing.assert_allclose(per_joint, [0.5, 1.0, 0.5])
    assert mean == pytest.approx(3 / 5)
    per_joint, mean = pckh(pred, gt, visible, [10.0, 20.0], exclude=[1])
    assert mean == pytest.approx(2 / 4)
    per_joint, _ = pckh(pred, gt, np.array([[1, 0, 1], [1, 0, 1]]), [10.0, 20.0])
    assert np.isnan(per_joint[1])
    # PCKh@0.1: only the exact joint (error 0) would pass, and it is not annotated
    assert pckh(pred, gt, visible, [10.0, 20.0], threshold=0.1)[1] == 0.0
    assert head_size_from_boxes([[0, 0, 30, 40]])[0] == pytest.approx(30.0)   # 0.6 * 50


def test_pckh_accuracy_accumulates_and_excludes_pelvis_thorax():
    rng = np.random.RandomState(0)
    gt = rng.uniform(0, 256, (10, 16, 2))
    pred = gt + rng.normal(0, 8, gt.shape)
    vis = rng.rand(10, 16) > 0.2
    head = rng.uniform(20, 40, 10)
    metric = PCKhAccuracy()
    metric.update(mx.nd.array(pred[:6]), gt[:6], vis[:6], head[:6])
    metric.update(pred[6:], gt[6:], vis[6:], head[6:])
    per_joint, mean = pckh(pred, gt, vis, head, exclude=[MPII.index("pelvis"),
                                                         MPII.index("thorax")])
    assert metric.get() == ("PCKh@0.5", pytest.approx(mean))
    table = metric.get_per_joint()
    assert table["head_top"] == pytest.approx(per_joint[MPII.index("head_top")])
    assert table["Mean"] == pytest.approx(mean)
    assert 0.2 < mean < 1.0
    metric.reset()
    assert np.isnan(metric.get()[1])
    with pytest.raises(ValueError):
        metric.update(pred[:, :15], gt[:, :15], vis[:, :15], head)
