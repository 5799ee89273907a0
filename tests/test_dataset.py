"""COCO keypoint datasets, the detection-box dataset and the bundled mini set."""
import importlib.util
import json
import logging
import os

import cv2
import mxnet as mx
import numpy as np
import pytest

from gluonpose.data import (COCO_PERSON, COCODetectionKeyPoints, COCOKeyPoints,
                            MINI_COCO_SPLIT, mini_coco, mini_coco_root)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_ROOT = os.path.join(REPO, "..", "shared", "data", "coco-mini")
SPLIT = "person_keypoints_train2017"
W, H = 100, 80


# ----------------------------------------------------------------------------- helpers

def kps(points, num_joints=17):
    """Flat COCO keypoint list with ``points = {index: (x, y, v)}``, zeros elsewhere."""
    out = [0] * (3 * num_joints)
    for i, xyv in points.items():
        out[3 * i:3 * i + 3] = xyv
    return out


VALID = kps({0: (20, 20, 2), 5: (25, 30, 1)})


def ann(ann_id, image_id=1, bbox=(10, 10, 30, 40), keypoints=VALID, **extra):
    out = {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
           "bbox": list(bbox), "area": float(bbox[2] * bbox[3]), "keypoints": list(keypoints),
           "num_keypoints": int(sum(1 for v in keypoints[2::3] if v)), "segmentation": []}
    out.update(extra)
    return out


def image(image_id, width=W, height=H, url=True):
    name = "%012d.jpg" % image_id
    out = {"id": image_id, "file_name": name, "width": width, "height": height}
    if url:
        out["coco_url"] = "http://images.cocodataset.org/train2017/" + name
    return out


PERSON = {"id": 1, "name": "person", "supercategory": "person",
          "keypoints": list(COCO_PERSON.keypoints),
          "skeleton": (COCO_PERSON.skeleton + 1).tolist()}


def write_set(root, images, annotations, categories=(PERSON,), split=SPLIT, missing=(),
              corrupt=()):
    """A COCO-layout set under ``root``: json plus a small random image per entry."""
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    os.makedirs(os.path.join(root, "train2017"), exist_ok=True)
    rng = np.random.RandomState(0)
    for entry in images:
        path = os.path.join(root, "train2017", entry["file_name"])
        if entry["id"] in missing:
            continue
        if entry["id"] in corrupt:
            with open(path, "wb") as f:
                f.write(b"\xff\xd8 this is not a jpeg" + bytes(range(256)))
            continue
        img = rng.randint(0, 255, (entry["height"], entry["width"], 3)).astype(np.uint8)
        cv2.imwrite(path, img)
    with open(os.path.join(root, "annotations", split + ".json"), "w") as f:
        json.dump({"info": {}, "licenses": [], "images": list(images),
                   "annotations": list(annotations), "categories": list(categories)}, f)
    return str(root)


@pytest.fixture
def bad_set(tmp_path):
    """Every kind of bad annotation and file, with the skip reason each must get."""
    annotations = [
        ann(1),                                                    # kept
        ann(2, iscrowd=1),                                         # crowd
        ann(3, keypoints=kps({})),                                 # no keypoints
        ann(4, area=0.0),                                          # zero area
        ann(5, bbox=(10, 10, 0.5, 30)),                            # zero area (w <= 1)
        ann(6, bbox=(90, -5, 30, 40)),                             # partly outside: clipped
        ann(7, bbox=(150, 10, 20, 20)),                            # wholly outside
        ann(8, keypoints=kps({0: (20, 20, 0)})),                   # no visible keypoints
        ann(9, category_id=2),                                     # other category
        {k: v for k, v in ann(10).items() if k != "bbox"},        # malformed
        ann(11, image_id=999),                                     # unknown image
        ann(12, image_id=2),                                       # image file missing
        ann(13, image_id=3),                                       # corrupt image: kept
    ]
    images = [image(1), image(2), image(3), image(4, url=False)]  # 4: no annotations
    categories = [PERSON, {"id": 2, "name": "car", "supercategory": "vehicle"}]
    return write_set(tmp_path, images, annotations, categories, missing={2}, corrupt={3})


EXPECTED_SKIPS = {"malformed": 1, "unknown image": 1, "crowd": 1, "other category": 1,
                  "no keypoints": 1, "zero area": 2, "outside image": 1,
                  "no visible keypoints": 1, "missing image": 1}


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "build_mini_coco", os.path.join(REPO, "tools", "build_mini_coco.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- GluonCV parity

def _assert_same_items(ours, theirs, images=True):
    assert len(ours) == len(theirs)
    for i in range(len(theirs)):
        img_g, label_g, id_g = theirs[i]
        if images:
            img, label, img_id = ours[i]
            assert isinstance(img, mx.nd.NDArray) and img.dtype == np.uint8
            assert np.array_equal(img.asnumpy(), img_g.asnumpy()), "image %d differs" % i
        else:
            label, img_id = ours.label(i), ours.records[i]["image_id"]
        assert img_id == id_g and isinstance(img_id, int)
        assert np.array_equal(np.asarray(label["bbox"], np.float64),
                              np.asarray(label_g["bbox"], np.float64)), i
        assert label["joints_3d"].dtype == np.float32
        assert np.array_equal(label["joints_3d"], label_g["joints_3d"]), i


@pytest.mark.parametrize("check_centers,skip_empty", [(False, True), (True, True), (False, False)])
def test_parity_with_gluoncv_on_bundled_set(check_centers, skip_empty):
    gcv = pytest.importorskip("gluoncv.data.mscoco.keypoints")
    kw = dict(check_centers=check_centers, skip_empty=skip_empty)
    theirs = gcv.COCOKeyPoints(mini_coco_root(), MINI_COCO_SPLIT, **kw)
    ours = COCOKeyPoints(mini_coco_root(), MINI_COCO_SPLIT, **kw)
    assert len(ours) > 0
    # images are compared for the default configuration; the others check records only
    _assert_same_items(ours, theirs, images=(not check_centers and skip_empty))
    assert ours.num_joints == theirs.num_joints
    assert ours.joint_pairs == theirs.joint_pairs
    assert ours.classes == theirs.classes
    assert ours.coco.getImgIds() == theirs.coco.getImgIds()


def test_parity_with_gluoncv_on_edge_boxes(tmp_path):
    """Float, clipped, degenerate and outside boxes are cleaned up exactly like GluonCV."""
    gcv = pytest.importorskip("gluoncv.data.mscoco.keypoints")
    annotations = [ann(1), ann(2, iscrowd=1), ann(3, keypoints=kps({})), ann(4, area=0.0),
                   ann(5, bbox=(10, 10, 0.5, 30)), ann(6, bbox=(90.37, -5.2, 30.9, 40.01)),
                   ann(7, bbox=(150, 10, 20, 20)), ann(8, keypoints=kps({0: (20, 20, 0)})),
                   ann(9, bbox=(-3.5, 70.25, 200, 1.5)), ann(10, image_id=999),
                   ann(11, image_id=4, bbox=(0, 0, 100, 80))]
    root = write_set(tmp_path, [image(1), image(4), image(5)], annotations)
    for skip_empty in (True, False):
        theirs = gcv.COCOKeyPoints(root, SPLIT, skip_empty=skip_empty)
        ours = COCOKeyPoints(root, SPLIT, skip_empty=skip_empty)
        _assert_same_items(ours, theirs)


def test_numpy_image_format_and_label_access():
    ds = COCOKeyPoints(mini_coco_root(), MINI_COCO_SPLIT, image_format="numpy")
    img, label, img_id = ds[0]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
    ref = cv2.cvtColor(cv2.imread(ds.image_path(0)), cv2.COLOR_BGR2RGB)
    assert np.array_equal(img, ref)             # RGB, not OpenCV's BGR
    assert set(label) == {"bbox", "joints_3d", "ann_id", "score", "area", "image_id"}
    assert label["score"] == 1.0 and label["image_id"] == img_id
    assert label["ann_id"] in ds.coco.anns and ds.coco.anns[label["ann_id"]]["image_id"] == img_id
    assert label["area"] == ds.coco.anns[label["ann_id"]]["area"]
    # label() hands out copies: changing one leaves the dataset as it was
    label["joints_3d"][:] = -5
    assert not np.array_equal(ds.label(0)["joints_3d"], label["joints_3d"])
    assert len(ds.records) == len(ds) and ds.records[0]["ann_id"] == label["ann_id"]
    # and the gluon Dataset API works on it
    shapes = ds.transform(lambda im, lab, i: (im.shape, i))
    assert shapes[0] == (img.shape, img_id)


def test_mini_set_summary(caplog):
    with caplog.at_level(logging.INFO, logger="gluonpose"):
        ds = mini_coco()
    assert os.path.isdir(mini_coco_root())
    assert ds.schema is COCO_PERSON and ds.num_joints == 17
    assert ds.num_read == 172 and len(ds) == 86
    assert dict(ds.skipped) == {"crowd": 5, "no keypoints": 81}
    assert "172 annotations, kept 86, skipped: crowd 5, no keypoints 81" in caplog.text


# ----------------------------------------------------------------------------- bad data

def test_bad_data_is_skipped_and_counted(bad_set, caplog):
    with caplog.at_level(logging.INFO, logger="gluonpose"):
        ds = COCOKeyPoints(bad_set, SPLIT)
    assert dict(ds.skipped) == EXPECTED_SKIPS
    assert ds.num_read == 13 and len(ds) == 3
    assert [r["ann_id"] for r in ds.records] == [1, 6, 13]
    assert ds.num_clipped == 1
    assert ds.records[1]["bbox"] == (90.0, 0.0, W - 1.0, 34.0)      # clipped to the image
    assert ds.missing_images == [os.path.join(bad_set, "train2017", "000000000002.jpg")]
    # one summary line, a warning because an image file is missing
    line = [r for r in caplog.records if r.name.startswith("gluonpose")]
    assert len(line) == 1 and line[0].levelno == logging.WARNING
    assert "13 annotations, kept 3" in line[0].getMessage()
    assert "zero area 2" in line[0].getMessage() and "missing image 1" in line[0].getMessage()

    img, label, img_id = ds[0]
    assert img.shape == (H, W, 3) and img_id == 1
    joints = label["joints_3d"]
    assert joints.shape == (17, 3, 2)
    assert joints[0, :, 0].tolist() == [20, 20, 0] and joints[0, :, 1].tolist() == [1, 1, 0]
    assert joints[5, :, 0].tolist() == [25, 30, 0] and joints[5, :, 1].tolist() == [1, 1, 0]
    assert not joints[[1, 2, 3, 4, 6]].any()
    assert label["bbox"] == (10.0, 10.0, 39.0, 49.0)                  # w - 1 convention
    # the corrupt file is found when decoded, with its name in the error
    with pytest.raises(OSError, match="000000000003.jpg"):
        ds[2]


def test_skip_empty_false_adds_dummies(bad_set):
    ds = COCOKeyPoints(bad_set, SPLIT, skip_empty=False)
    # image 4 has no annotations: one dummy; the missing image 2 gets none
    assert [r["image_id"] for r in ds.records] == [1, 1, 3, 4]
    dummy = ds.records[3]
    assert np.array_equal(dummy["bbox"], [-1, -1, 0, 0]) and not dummy["joints_3d"].any()
    assert dummy["ann_id"] == -1 and dummy["score"] == 0.0
    # image 4 has no coco_url: its path comes from the split name
    assert ds.image_path(3) == os.path.join(bad_set, "train2017", "000000000004.jpg")
    assert ds[3][0].shape == (H, W, 3)


def test_strict_raises_on_missing_image(bad_set):
    with pytest.raises(FileNotFoundError, match="000000000002.jpg"):
        COCOKeyPoints(bad_set, SPLIT, strict=True)


def test_check_centers_drops_far_keypoints(tmp_path):
    near = ann(1, bbox=(0, 0, 40, 40), keypoints=kps({0: (20, 20, 2), 1: (21, 20, 2)}))
    far = ann(2, bbox=(0, 0, 40, 40), keypoints=kps({0: (1, 1, 2), 1: (2, 1, 2)}))
    root = write_set(tmp_path, [image(1)], [near, far])
    assert len(COCOKeyPoints(root, SPLIT)) == 2
    ds = COCOKeyPoints(root, SPLIT, check_centers=True)
    assert [r["ann_id"] for r in ds.records] == [1] and ds.skipped["centre check"] == 1


def test_annotation_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"person_keypoints_val2017\.json"):
        COCOKeyPoints(str(tmp_path))
    os.makedirs(tmp_path / "annotations")
    bad = tmp_path / "annotations" / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json is not valid JSON"):
        COCOKeyPoints(str(tmp_path), "broken")
    bad.write_text("[1, 2, 3]")
    with pytest.raises(ValueError, match=r"broken\.json is not a COCO annotation file"):
        COCOKeyPoints(str(tmp_path), "broken")


def test_json_without_person_category(tmp_path):
    cars = [{"id": 1, "name": "car", "supercategory": "vehicle"}]
    root = write_set(tmp_path, [image(1)], [ann(1)], categories=cars)
    with pytest.raises(ValueError, match=r"person_keypoints_train2017\.json has no 'person' "
                                         r"category"):
        COCOKeyPoints(root, SPLIT)
    # two categories with keypoints and no person: ambiguous unless one is named
    two = [dict(PERSON, id=1, name="dog"), dict(PERSON, id=2, name="cat")]
    root = write_set(tmp_path, [image(1)], [ann(1)], categories=two)
    with pytest.raises(ValueError, match="more than one"):
        COCOKeyPoints(root, SPLIT)
    assert COCOKeyPoints(root, SPLIT, category="dog").classes == ["dog"]


def test_custom_keypoint_set(tmp_path):
    names = ["head", "left_hand", "right_hand", "left_foot", "right_foot"]
    robot = {"id": 7, "name": "robot", "keypoints": names, "skeleton": [[1, 2], [1, 3]]}
    pts = kps({0: (50, 10, 2), 1: (30, 40, 1), 2: (70, 40, 2), 4: (60, 75, 2)}, num_joints=5)
    annotations = [ann(1, bbox=(20, 5, 60, 74), keypoints=pts, category_id=7),
                   ann(2, keypoints=pts[:12], category_id=7)]        # wrong length
    root = write_set(tmp_path, [image(1)], annotations, categories=[robot])
    ds = COCOKeyPoints(root, SPLIT)
    assert ds.classes == ["robot"]
    assert ds.schema.keypoints == tuple(names) and ds.num_joints == 5
    assert ds.joint_pairs == [[1, 2], [3, 4]]
    assert ds.schema.skeleton.tolist() == [[0, 1], [0, 2]]
    assert ds.image_path(0) == os.path.join(root, "train2017", "000000000001.jpg")
    assert ds.skipped == {"malformed": 1} and len(ds) == 1
    joints = ds[0][1]["joints_3d"]
    assert joints.shape == (5, 3, 2) and joints.dtype == np.float32
    assert joints[:, 0, 0].tolist() == [50, 30, 70, 0, 60]
    assert joints[:, 1, 0].tolist() == [10, 40, 40, 0, 75]
    assert joints[:, 0, 1].tolist() == [1, 1, 1, 0, 1]
    # an explicit image folder (relative to root, or absolute) replaces coco_url
    os.rename(os.path.join(root, "train2017"), os.path.join(root, "pictures"))
    moved = COCOKeyPoints(root, SPLIT, image_dir="pictures")
    assert moved.image_path(0) == os.path.join(root, "pictures", "000000000001.jpg")
    assert len(moved) == 1 and moved.missing_images == []


# ----------------------------------------------------------------------------- detector boxes

def test_detection_boxes(bad_set, tmp_path):
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [10.5, 12, 30, 40], "score": 0.9},   # kept
        {"image_id": 1, "category_id": 2, "bbox": [10, 10, 30, 40], "score": 0.9},     # category
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 40], "score": 0.05},    # score
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 0, 40], "score": 0.8},      # zero
        {"image_id": 1, "category_id": 1, "bbox": [300, 10, 30, 40], "score": 0.8},    # outside
        {"image_id": 2, "category_id": 1, "bbox": [10, 10, 30, 40], "score": 0.8},     # missing
        {"image_id": 4, "category_id": 1, "bbox": [-10, 50, 200, 100], "score": 0.5},  # clipped
        {"image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.7},         # kept
    ]
    det_file = tmp_path / "dets.json"
    det_file.write_text(json.dumps(dets))
    ds = COCODetectionKeyPoints(bad_set, SPLIT, det_file=str(det_file), score_thresh=0.1)
    assert dict(ds.skipped) == {"other category": 1, "low score": 1, "zero area": 1,
                                "outside image": 1, "missing image": 1}
    assert ds.num_read == 8 and ds.num_clipped == 1
    assert [r["image_id"] for r in ds.records] == [1, 3, 4]         # sorted image ids
    first = ds.label(0)
    assert first["bbox"] == (10.5, 12.0, 39.5, 51.0)
    assert first["score"] == 0.9 and first["ann_id"] == -1 and first["area"] == 1200.0
    assert first["joints_3d"].shape == (17, 3, 2) and not first["joints_3d"].any()
    assert ds.records[2]["bbox"] == (0.0, 50.0, W - 1.0, H - 1.0)
    img, label, img_id = ds[0]
    assert img.shape == (H, W, 3) and img_id == 1
    assert "8 detections, kept 3" in ds.summary()


@pytest.mark.parametrize("content,message", [
    (None, "detection file not found"),
    ("{oops", "is not valid JSON"),
    ('{"annotations": []}', "must hold a list"),
    ('[{"image_id": 1, "category_id": 1, "score": 0.5}]', r"entry 0 is malformed \(no bbox\)"),
    ('[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3], "score": 0.5}]', "entry 0"),
    ('[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5},'
     ' {"image_id": 12345, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]',
     r"image_id 12345 \(entry 1\) is not in"),
])
def test_detection_file_errors(bad_set, tmp_path, content, message):
    det_file = tmp_path / "dets.json"
    if content is not None:
        det_file.write_text(content)
    with pytest.raises((ValueError, FileNotFoundError), match=message) as err:
        COCODetectionKeyPoints(bad_set, SPLIT, det_file=str(det_file))
    assert "dets.json" in str(err.value)


# ----------------------------------------------------------------------------- bundled set

def _load_json(root):
    with open(os.path.join(root, "annotations", MINI_COCO_SPLIT + ".json")) as f:
        return json.load(f)


def test_bundled_set_matches_its_images():
    root = mini_coco_root()
    data = _load_json(root)
    assert len(data["images"]) == 80 and len(data["annotations"]) == 172
    sizes = {}
    for entry in data["images"]:
        img = cv2.imread(os.path.join(root, "train2017", entry["file_name"]))
        assert img is not None and img.shape[:2] == (entry["height"], entry["width"])
        assert max(img.shape[:2]) <= 384
        sizes[entry["id"]] = (entry["width"], entry["height"])
    for a in data["annotations"]:
        w, h = sizes[a["image_id"]]
        pts = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
        labelled = pts[:, 2] > 0
        assert (pts[labelled, 0] >= 0).all() and (pts[labelled, 0] < w).all()
        assert (pts[labelled, 1] >= 0).all() and (pts[labelled, 1] < h).all()
        x, y, bw, bh = a["bbox"]
        assert x >= 0 and y >= 0 and x + bw <= w + 1e-3 and y + bh <= h + 1e-3
        if a["iscrowd"]:
            assert a["segmentation"]["size"] == [h, w]
    licences = {entry["id"] for entry in data["licenses"]}
    assert all(entry["license"] in licences for entry in data["images"])
    with open(os.path.join(root, "README.md")) as f:
        readme = f.read()
    assert "CC" in readme or "Creative Commons" in readme
    assert all(entry["file_name"] in readme for entry in data["images"])


def test_bundled_set_is_the_source_scaled():
    if not os.path.isfile(os.path.join(SOURCE_ROOT, "annotations", SPLIT + ".json")):
        pytest.skip("source set ../shared/data/coco-mini not present")
    small, src = _load_json(mini_coco_root()), _load_json(SOURCE_ROOT)
    assert [a["id"] for a in small["annotations"]] == [a["id"] for a in src["annotations"]]
    assert small["categories"] == src["categories"] and small["licenses"] == src["licenses"]
    images = {e["id"]: e for e in src["images"]}
    scale = {e["id"]: (e["width"] / images[e["id"]]["width"],
                       e["height"] / images[e["id"]]["height"]) for e in small["images"]}
    for a, b in zip(small["annotations"], src["annotations"]):
        sx, sy = scale[a["image_id"]]
        pa = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
        pb = np.asarray(b["keypoints"], np.float64).reshape(-1, 3)
        assert np.array_equal(pa[:, 2], pb[:, 2])
        np.testing.assert_allclose(pa[:, :2], pb[:, :2] * (sx, sy), atol=1e-3)
        np.testing.assert_allclose(a["bbox"], np.asarray(b["bbox"]) * (sx, sy, sx, sy), atol=1e-3)
        np.testing.assert_allclose(a["area"], b["area"] * sx * sy, rtol=1e-6, atol=1e-3)
        assert a["iscrowd"] == b["iscrowd"] and a["num_keypoints"] == b["num_keypoints"]


def test_build_tool_scales_everything(tmp_path):
    tool = _load_tool()
    mask_utils = pytest.importorskip("pycocotools.mask")
    src, dst = tmp_path / "src", tmp_path / "dst"
    big_w, big_h = 201, 99
    crowd_mask = np.zeros((big_h, big_w), np.uint8)
    crowd_mask[20:60, 40:120] = 1
    compressed = mask_utils.encode(np.asfortranarray(crowd_mask))
    annotations = [
        ann(1, bbox=(20, 10, 100, 50), keypoints=kps({0: (100, 50, 2), 3: (200, 98, 1)}),
            segmentation=[[20, 10, 120, 10, 120, 60]]),
        ann(2, iscrowd=1, keypoints=kps({}), area=3200.0,
            segmentation={"counts": tool.rle_from_mask_uncompressed(crowd_mask),
                          "size": [big_h, big_w]}),
        ann(3, iscrowd=1, keypoints=kps({}), area=3200.0,
            segmentation={"counts": compressed["counts"].decode("ascii"),
                          "size": [big_h, big_w]}),
    ]
    write_set(src, [image(1, big_w, big_h)], annotations)
    tool.main(["--src", str(src), "--dst", str(dst), "--max-side", "50"])
    out = _load_json(str(dst))
    entry = out["images"][0]
    assert (entry["width"], entry["height"]) == (50, 25)            # round(99 * 50 / 201) = 25
    assert cv2.imread(str(dst / "train2017" / entry["file_name"])).shape == (25, 50, 3)
    sx, sy = 50 / 201, 25 / 99
    a1, a2, a3 = out["annotations"]
    pts = np.asarray(a1["keypoints"]).reshape(-1, 3)
    np.testing.assert_allclose(pts[0], [100 * sx, 50 * sy, 2], atol=1e-3)
    np.testing.assert_allclose(pts[3], [200 * sx, 98 * sy, 1], atol=1e-3)
    assert pts[1].tolist() == [0, 0, 0]
    np.testing.assert_allclose(a1["bbox"], [20 * sx, 10 * sy, 100 * sx, 50 * sy], atol=1e-3)
    np.testing.assert_allclose(a1["area"], 5000 * sx * sy, atol=1e-3)
    np.testing.assert_allclose(a1["segmentation"][0], [20 * sx, 10 * sy, 120 * sx, 10 * sy,
                                                       120 * sx, 60 * sy], atol=1e-2)
    assert isinstance(a2["segmentation"]["counts"], list)           # format kept
    assert isinstance(a3["segmentation"]["counts"], str)
    for crowd in (a2, a3):
        seg = crowd["segmentation"]
        assert seg["size"] == [25, 50]
        rle = (mask_utils.frPyObjects(seg, 25, 50) if isinstance(seg["counts"], list)
               else dict(seg, counts=seg["counts"].encode("ascii")))
        small = mask_utils.decode(rle)
        expected = cv2.resize(crowd_mask, (50, 25), interpolation=cv2.INTER_NEAREST)
        assert np.array_equal(small, expected)
    assert (dst / "README.md").is_file()
    # the result loads as a dataset: only annotation 1 has keypoints
    ds = COCOKeyPoints(str(dst), SPLIT)
    assert len(ds) == 1 and ds[0][0].shape == (25, 50, 3)
