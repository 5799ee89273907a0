"""The top-down Predictor: input kinds, coordinates, boxes, NMS, results json, bad input.

References: the validation transform and ``predict_dataset`` (same crops and
keypoints), a fake network whose heatmap peak is known (exact image
coordinates through the whole pipeline, both codecs, flip test), the COCO
metric's rescoring, pycocotools ``loadRes``/``COCOeval``, and GluonCV's demo
helpers.
"""
import contextlib
import io
import json
import os
import shutil

import cv2
import mxnet as mx
import numpy as np
import pytest

from gluonpose.data import mini_coco, mini_coco_root
from gluonpose.data.schema import COCO_PERSON
from gluonpose.inference import (BatchCropper, DetectorBoxes, Frame, Predictor, instance_scores,
                                 read_image, to_rgb_uint8)

SIZE = (128, 96)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def dataset():
    return mini_coco(image_format="numpy")


@pytest.fixture(scope="module")
def params_file(tmp_path_factory):
    """simple_pose_resnet18_v1b with seeded random weights, saved like a trained model."""
    from gluonpose.model_zoo import get_model
    mx.random.seed(7)
    net = get_model("simple_pose_resnet18_v1b")
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3) + SIZE))
    path = str(tmp_path_factory.mktemp("weights") / "net.params")
    net.save_parameters(path)
    return path


@pytest.fixture(scope="module")
def pred(params_file):
    return Predictor(params_file=params_file, input_size=SIZE, progress=False)


@pytest.fixture(scope="module")
def sample(dataset):
    """(image path, RGB image, xyxy box) of the first mini instance."""
    img, label, _ = dataset[0]
    path = os.path.join(mini_coco_root(), "train2017", "%012d.jpg" % label["image_id"])
    return path, img, np.asarray(label["bbox"], np.float64)


class BlobNet(mx.gluon.Block):
    """Fake pose network: a Gaussian at (brightest input pixel) / 4 on every joint map.

    Joint ``j``'s map has amplitude ``1 + j / 16`` so the flip test's channel
    swap is visible in the confidences.
    """

    def __init__(self, num_joints=17, sigma=2.0):
        super().__init__()
        self.num_joints, self.sigma = num_joints, sigma
        self.amp = 1 + np.arange(num_joints) / 16.0

    def forward(self, x):
        a = x.asnumpy().sum(axis=1)
        n, h, w = a.shape
        idx = a.reshape(n, -1).argmax(axis=1)
        cy, cx = (idx // w) / 4.0, (idx % w) / 4.0
        ys, xs = np.mgrid[0:h // 4, 0:w // 4]
        g = np.exp(-((xs[None] - cx[:, None, None]) ** 2 + (ys[None] - cy[:, None, None]) ** 2)
                   / (2 * self.sigma ** 2))
        return mx.nd.array(g[:, None] * self.amp[None, :, None, None])


def _blob_image():
    """Black 240x320 image with Gaussian blobs peaking at (64, 74) and (188, 104)."""
    ys, xs = np.mgrid[0:240, 0:320]
    img = np.zeros((240, 320), np.float64)
    for px, py in ((64, 74), (188, 104)):
        img = np.maximum(img, np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * 3.0 ** 2)))
    return np.repeat(np.round(img * 255).astype(np.uint8)[..., None], 3, axis=2)


# boxes whose crops (128x96, x1.25 context) put the blobs at input pixel (40, 48) = heatmap (10, 12)
BLOB_BOXES = np.array([[50, 30, 98, 158], [150, 60, 246, 188]], np.float64)
BLOB_XY = np.array([[64.0, 74.0], [188.0, 104.0]])


# ----------------------------------------------------------------------------- crop and coordinates

def test_crop_equals_val_transform(sample):
    from gluonpose.data.transforms.presets.simple_pose import SimplePoseDefaultValTransform
    _, img, box = sample
    boxes = np.array([box, [10.5, 20.25, 200.0, 240.0], [0, 0, 383, 252]])
    batch, center, scale = BatchCropper(SIZE)(img, boxes)
    tr = SimplePoseDefaultValTransform(17, image_size=SIZE)
    for i, b in enumerate(boxes):
        ref, ref_scale, ref_center, _, _ = tr(img, {"bbox": tuple(b)}, 0)
        assert np.array_equal(batch[i].asnumpy(), ref.asnumpy())       # bit for bit
        assert np.array_equal(center[i], ref_center) and np.array_equal(scale[i], ref_scale)


@pytest.mark.parametrize("codec", ["msra", "unbiased"])
@pytest.mark.parametrize("flip", [False, True])
def test_known_heatmap_peak_maps_to_known_image_point(codec, flip):
    p = Predictor(BlobNet(), input_size=SIZE, codec=codec, flip_test=flip, oks_nms_thresh=None,
                  progress=False)
    res = p.predict(_blob_image(), boxes=BLOB_BOXES)
    assert len(res) == 2
    by_box = {tuple(r.box): r for r in res}
    amp = BlobNet().amp
    for box, xy in zip(BLOB_BOXES, BLOB_XY):
        kp = by_box[tuple(box)].keypoints
        err = kp[:, :2] - xy
        if not flip:
            np.testing.assert_allclose(err, 0, atol=0.05)
            np.testing.assert_allclose(kp[:, 2], amp, rtol=1e-3)
        else:
            # GluonCV's flip shift leaves the mirrored peak 1/4 cell right (<= 1.25 px here)
            assert np.all(np.abs(err[:, 1]) < 0.05) and np.all((err[:, 0] >= -0.05)
                                                              & (err[:, 0] <= 1.3))
            # left/right channels swapped back: joint j averages its own and its pair's map
            np.testing.assert_allclose(kp[:, 2], (amp + amp[COCO_PERSON.flip_index]) / 2,
                                       rtol=0.01)


def test_predictions_equal_predict_dataset(dataset, params_file):
    """Same boxes -> the same keypoints as ``gluonpose eval``'s prediction loop."""
    from gluonpose.codecs import get_codec
    from gluonpose.engine.data import SubsetDataset
    from gluonpose.engine.evaluate import predict_dataset
    p = Predictor(params_file=params_file, input_size=SIZE, oks_nms_thresh=None,
                  progress=False, flip_test=True)
    sub = SubsetDataset(dataset, 6)
    coords, maxvals, _, ids, _, _ = predict_dataset(
        p.net, sub, [mx.cpu()], SIZE, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225),
        get_codec("msra", image_size=SIZE), flip_test=True, flip_index=COCO_PERSON.flip_index,
        progress=False)
    for i in range(len(sub)):
        img, label, _ = sub[i]
        res = p.predict(img, boxes=[label["bbox"]])
        np.testing.assert_allclose(res[0].keypoints[:, :2], coords[i], atol=1e-3)
        np.testing.assert_allclose(res[0].keypoints[:, 2], maxvals[i, :, 0], atol=1e-5)


# ----------------------------------------------------------------------------- input kinds

def test_image_path_and_array_agree(pred, sample):
    path, img, box = sample
    from_path = pred.predict(path, boxes=[box])
    assert from_path.image_id == int(os.path.basename(path)[:-4])     # COCO file name -> id
    from_array = pred(img, boxes=[box])
    assert len(from_path) == len(from_array) == 1
    np.testing.assert_array_equal(from_path[0].keypoints, from_array[0].keypoints)
    assert set(pred.last_timings) == {"decode_image", "detect", "crop", "network",
                                      "decode_heatmaps", "nms"}
    assert pred.last_timings["network"] > 0
    # whole image by default: one person, keypoints inside the image
    whole = pred(path)
    assert len(whole) == 1 and np.array_equal(whole[0].box, [0, 0, img.shape[1] - 1,
                                                            img.shape[0] - 1])


def test_grayscale_rgba_16bit_give_the_same_keypoints(pred, sample, tmp_path):
    _, img, box = sample
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    ref = pred.predict(rgb, boxes=[box])[0].keypoints
    alpha = np.random.RandomState(0).randint(0, 256, gray.shape, dtype=np.uint8)
    variants = {
        "HxW": gray, "HxWx1": gray[..., None],
        "rgba": np.dstack([rgb, alpha]),
        "uint16": rgb.astype(np.uint16) * 257,
        "uint16 gray": gray.astype(np.uint16) * 257,
        "float [0,1]": rgb / 255.0,
    }
    # files too: 16-bit PNG, RGBA PNG, grayscale PNG
    cv2.imwrite(str(tmp_path / "g16.png"), gray.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "rgba.png"), np.dstack([rgb, alpha]))
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    for name in ("g16.png", "rgba.png", "gray.png"):
        assert read_image(str(tmp_path / name)).dtype == np.uint8
        variants[name] = str(tmp_path / name)
    for name, v in variants.items():
        got = pred.predict(v, boxes=[box])[0].keypoints
        np.testing.assert_array_equal(got, ref, err_msg=name)
    with pytest.raises(ValueError, match="H x W x 4"):
        to_rgb_uint8(np.zeros((4, 4, 2), np.uint8))


def test_folder_skips_bad_files(pred, dataset, tmp_path):
    root = os.path.join(mini_coco_root(), "train2017")
    names = sorted(os.listdir(root))[:2]
    for n in names:
        shutil.copy(os.path.join(root, n), tmp_path / n)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored: not an image extension")
    pred.reset()
    with pytest.warns(UserWarning, match="broken.jpg"):
        results = pred(str(tmp_path))
    assert [os.path.basename(r.name) for r in results] == names
    assert [r.image_id for r in results] == [int(n[:-4]) for n in names]
    assert len(pred.skipped) == 1 and "broken.jpg" in pred.skipped[0][0]
    assert all(len(r) == 1 for r in results)       # whole image -> one person each


def _write_video(path, frames, fps=5):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()


def test_video_frames(pred, sample, tmp_path):
    _, img, box = sample
    img = np.ascontiguousarray(img[:252, :384])
    video = tmp_path / "clip.avi"
    _write_video(video, [img, img[:, ::-1].copy(), img])
    p = Predictor(pred.net, input_size=SIZE, boxes=[box], progress=False)
    results = list(p.predict_source(str(video), keep_images=True))
    assert [r.image_id for r in results] == [0, 1, 2]
    assert all(len(r) == 1 and r.image.shape == img.shape for r in results)
    # each result is the prediction for that decoded frame (read here independently, BGR -> RGB)
    cap = cv2.VideoCapture(str(video))
    for r in results:
        ok, bgr = cap.read()
        assert ok and np.array_equal(r.image, bgr[:, :, ::-1])
        np.testing.assert_array_equal(r[0].keypoints, p.predict(r.image)[0].keypoints)
    cap.release()
    assert len(list(p.predict_source(str(video), max_frames=2))) == 2


# ----------------------------------------------------------------------------- boxes

def test_det_file_boxes_and_empty_frame(pred, dataset, tmp_path):
    root = os.path.join(mini_coco_root(), "train2017")
    names = sorted(os.listdir(root))[:3]
    folder = tmp_path / "imgs"
    folder.mkdir()
    for n in names:
        shutil.copy(os.path.join(root, n), folder / n)
    ids = [int(n[:-4]) for n in names]
    dets = [  # image 0: one person + one low score + one other category; image 1: two; 2: none
        {"image_id": ids[0], "category_id": 1, "bbox": [20, 30, 60, 120], "score": 0.9},
        {"image_id": ids[0], "category_id": 1, "bbox": [100, 30, 60, 120], "score": 0.1},
        {"image_id": ids[0], "category_id": 3, "bbox": [100, 30, 60, 120], "score": 0.9},
        {"image_id": ids[1], "category_id": 1, "bbox": [10, 10, 50, 80], "score": 0.8},
        {"image_id": ids[1], "category_id": 1, "bbox": [150, 40, 70, 150], "score": 0.7},
    ]
    det_file = tmp_path / "dets.json"
    det_file.write_text(json.dumps(dets))
    p = Predictor(pred.net, input_size=SIZE, det_file=str(det_file), det_score_thresh=0.5,
                  oks_nms_thresh=None, progress=False)
    results = p(str(folder))
    assert [len(r) for r in results] == [1, 2, 0]          # a frame with nobody: empty
    # COCO [x, y, w, h] -> GluonCV xyxy (w - 1)
    np.testing.assert_array_equal(results[0][0].box, [20, 30, 79, 149])
    assert results[0][0].box_score == pytest.approx(0.9)
    # matching by file name through an annotation file (any naming works)
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    shutil.copy(folder / names[1], renamed / "a.jpg")
    ann = {"images": [{"id": ids[1], "file_name": "a.jpg"}]}
    (tmp_path / "ann.json").write_text(json.dumps(ann))
    p2 = Predictor(pred.net, input_size=SIZE, det_file=str(det_file),
                   ann_file=str(tmp_path / "ann.json"), progress=False)
    r = p2(str(renamed))
    assert len(r) == 1 and r[0].image_id == ids[1] and len(r[0]) == 2


class FakeDetector(mx.gluon.HybridBlock):
    """GluonCV's detector output: ids (1,M,1), scores (1,M,1), boxes (1,M,4) in input pixels."""

    def __init__(self, ids, scores, rel_boxes):
        super().__init__()
        self.ids, self.scores, self.rel = ids, scores, np.asarray(rel_boxes, np.float32)
        self.seen = None

    def forward(self, x):
        self.seen = x.shape
        h, w = x.shape[2:]
        boxes = self.rel * np.array([w, h, w, h], np.float32)
        return (mx.nd.array(np.asarray(self.ids, np.float32).reshape(1, -1, 1)),
                mx.nd.array(np.asarray(self.scores, np.float32).reshape(1, -1, 1)),
                mx.nd.array(boxes[None]))


def test_detector_boxes_scaled_back_and_filtered():
    det = FakeDetector([0, 0, 2, -1], [0.9, 0.3, 0.95, 0.9],
                       [[0.1, 0.2, 0.5, 0.9], [0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]])
    provider = DetectorBoxes(det, thresh=0.5, short=512)
    frame = Frame(np.zeros((300, 400, 3), np.uint8))
    boxes, scores = provider(frame)
    assert det.seen == (1, 3, 512, 683)                  # short side 512, like GluonCV
    np.testing.assert_allclose(boxes, [[40, 60, 200, 270]], atol=0.5)  # in frame pixels
    np.testing.assert_allclose(scores, [0.9], rtol=1e-6)


def test_gluoncv_detector_through_predictor(pred):
    """A real GluonCV detector (random weights) runs through the same path."""
    gcv_zoo = pytest.importorskip("gluoncv.model_zoo")
    mx.random.seed(0)
    det = gcv_zoo.get_model("ssd_300_mobilenet1.0_lite_coco", pretrained=False,
                            pretrained_base=False)
    det.initialize()
    det.reset_class(["person"])                         # as GluonCV's demo does
    p = Predictor(pred.net, input_size=SIZE, detector=det, box_thresh=0.0, progress=False)
    p.boxes.short = p.boxes.max_size = 300
    img = np.random.RandomState(0).randint(0, 255, (200, 300, 3), dtype=np.uint8)
    res = p.predict(img)
    boxes, scores = p.boxes(Frame(img))
    assert len(boxes) > 0 and np.all(boxes >= 0) and np.all(boxes[:, 2] <= 299) \
        and np.all(boxes[:, 3] <= 199) and np.all(scores >= 0)
    assert 1 <= len(res) <= len(boxes)


def test_missing_gluoncv_gives_a_hint(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "gluoncv", None)
    with pytest.raises(RuntimeError, match="--det-file"):
        DetectorBoxes("yolo3_mobilenet1.0_coco")


def test_oks_nms_drops_a_duplicate():
    img = _blob_image()
    dup = BLOB_BOXES[0] + [0.5, 0.0, 0.5, 0.0]         # the same person, a slightly moved box
    boxes = np.array([BLOB_BOXES[0], dup, BLOB_BOXES[1]])
    scores = [0.9, 0.8, 0.7]
    p = Predictor(BlobNet(), input_size=SIZE, progress=False)     # OKS-NMS 0.9 by default
    kept = p.predict(img, boxes=boxes, scores=scores)
    assert [tuple(k.box) for k in kept] == [tuple(BLOB_BOXES[0]), tuple(BLOB_BOXES[1])]
    p = Predictor(BlobNet(), input_size=SIZE, oks_nms_thresh=None, progress=False)
    assert len(p.predict(img, boxes=boxes, scores=scores)) == 3
    assert len(p.predict(img, boxes=np.zeros((0, 4)))) == 0          # nobody: empty


# ----------------------------------------------------------------------------- results json

def test_results_json_loads_in_pycocotools_and_scores_match_metric(pred, dataset, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    from gluonpose.utils.metrics import COCOKeyPointsMetric
    p = Predictor(pred.net, input_size=SIZE, progress=False, oks_nms_thresh=None)
    records = [dataset[i] for i in range(5)]
    for img, label, _ in records:
        p.predict(img, boxes=[label["bbox"]], scores=[0.8], image_id=label["image_id"])
    out = p.write_coco_results(str(tmp_path / "res.json"))
    entries = json.load(open(out))
    assert len(entries) == 5 and len(entries[0]["keypoints"]) == 51
    ann = os.path.join(mini_coco_root(), "annotations", "person_keypoints_train2017.json")
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann)
        dt = gt.loadRes(out)
        ev = COCOeval(gt, dt, "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert len(dt.getAnnIds()) == 5 and np.isfinite(ev.stats[0])
    # the pose score is the COCO metric's rescoring
    metric = COCOKeyPointsMetric(ann, str(tmp_path / "m"), use_time=False)
    kp = np.array([e["keypoints"] for e in entries]).reshape(5, 17, 3)
    metric.update(kp[:, :, :2], kp[:, :, 2:], np.full(5, 0.8), [e["image_id"] for e in entries])
    with contextlib.redirect_stdout(io.StringIO()):
        metric.get()
    ref = json.load(open(metric.results_file))
    np.testing.assert_allclose([e["score"] for e in entries], [r["score"] for r in ref],
                               rtol=1e-6)
    # hand-checked: joints 0.5 and 0.9 pass the 0.2 threshold -> 0.7 x box 0.8; none -> 0
    np.testing.assert_allclose(instance_scores([[0.1, 0.5, 0.9], [0.1, 0.2, 0.15]], [0.8, 1.0]),
                               [0.56, 0.0], rtol=1e-6)


# ----------------------------------------------------------------------------- GluonCV helpers

def test_gluoncv_demo_helpers_match_predictor(pred, sample):
    from gluonpose.data.transforms.pose import detector_to_simple_pose, heatmap_to_coord
    _, img, box = sample
    ids = mx.nd.array([[[0], [0], [5]]])
    scores = mx.nd.array([[[0.9], [0.2], [0.9]]])
    bbs = mx.nd.array([[box, box, box]])
    x, crop_boxes = detector_to_simple_pose(mx.nd.array(img, dtype="uint8"), ids, scores, bbs,
                                            output_shape=SIZE)
    assert x.shape == (1, 3) + SIZE and len(crop_boxes) == 1
    coords, conf = heatmap_to_coord(pred.net(x), crop_boxes)
    assert isinstance(coords, mx.nd.NDArray) and coords.shape == (1, 17, 2)
    p = Predictor(pred.net, input_size=SIZE, progress=False)
    ref = p.predict(img, boxes=[box])[0].keypoints
    np.testing.assert_allclose(coords.asnumpy()[0], ref[:, :2], atol=1e-3)
    np.testing.assert_allclose(conf.asnumpy()[0, :, 0], ref[:, 2], atol=1e-6)
    # GluonCV's own helper picks the same persons
    gcv_pose = pytest.importorskip("gluoncv.data.transforms.pose")
    gx, gboxes = gcv_pose.detector_to_simple_pose(mx.nd.array(img, dtype="uint8"), ids, scores,
                                                  bbs, output_shape=SIZE)
    assert gx.shape == x.shape and len(gboxes) == len(crop_boxes)
    assert detector_to_simple_pose(img, ids, scores * 0, bbs) == (None, [])
