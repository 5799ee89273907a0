"""Bottom-up data path: the whole-image dataset and its train/val transforms."""
import json
import logging
import os

import cv2
import numpy as np
import pytest

from gluonpose.data import COCO_PERSON, get_schema, mini_coco_root
from gluonpose.data.mini import MINI_COCO_SPLIT, mini_coco_bottom_up
from gluonpose.data.mscoco.bottom_up import COCOBottomUp, rasterize_ignore_mask
from gluonpose.data.transforms.presets import BottomUpTrainTransform, BottomUpValTransform

SPLIT = "person_keypoints_train2017"
W, H = 100, 80
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


# ----------------------------------------------------------------------------- helpers

def kps(points, num_joints=17):
    """Flat COCO keypoint list with ``points = {index: (x, y, v)}``, zeros elsewhere."""
    out = [0] * (3 * num_joints)
    for i, xyv in points.items():
        out[3 * i:3 * i + 3] = xyv
    return out


FIVE = kps({i: (20 + i, 20 + i, 2) for i in range(5)})


def box_poly(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def ann(ann_id, image_id=1, bbox=(10, 10, 40, 50), keypoints=FIVE, area=None, **extra):
    out = {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
           "bbox": list(bbox), "area": float(bbox[2] * bbox[3]) if area is None else area,
           "keypoints": list(keypoints), "num_keypoints": sum(1 for v in keypoints[2::3] if v),
           "segmentation": box_poly(bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3])}
    out.update(extra)
    return out


def image(image_id, width=W, height=H):
    return {"id": image_id, "file_name": "%012d.png" % image_id, "width": width,
            "height": height}


PERSON = {"id": 1, "name": "person", "supercategory": "person",
          "keypoints": list(COCO_PERSON.keypoints)}


def write_set(root, images, annotations, missing=(), corrupt=()):
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    os.makedirs(os.path.join(root, "train2017"), exist_ok=True)
    rng = np.random.RandomState(0)
    for entry in images:
        path = os.path.join(root, "train2017", entry["file_name"])
        if entry["id"] in missing:
            continue
        if entry["id"] in corrupt:
            with open(path, "wb") as f:
                f.write(b"not an image at all")
            continue
        cv2.imwrite(path, rng.randint(0, 255, (entry["height"], entry["width"], 3))
                    .astype(np.uint8))
    with open(os.path.join(root, "annotations", SPLIT + ".json"), "w") as f:
        json.dump({"images": images, "annotations": annotations, "categories": [PERSON]}, f)
    return str(root)


def uncompressed_rle(binary):
    """COCO's uncompressed RLE of a binary (h, w) mask: column-major runs, zeros first."""
    flat = np.asarray(binary, np.uint8).ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat[0] == 1:
        runs = [0] + runs
    return {"counts": runs, "size": list(binary.shape)}


def coco_raster(polys, h=H, w=W):
    from pycocotools import mask as mask_utils
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, h, w)))


CROWD_POLY = [[12.5, 40.2, 60.3, 45.1, 35.7, 75.6]]


@pytest.fixture
def tiny(tmp_path):
    """image 1: one person, a crowd polygon, a small person, a 3-keypoint person;
    image 2: a crowd RLE only; image 3: nothing; image 4: missing file; image 5: corrupt."""
    crowd_rle = np.zeros((H, W), np.uint8)
    crowd_rle[5:20, 70:95] = 1
    annotations = [
        ann(1, bbox=(50, 5, 40, 70)),
        ann(2, iscrowd=1, keypoints=kps({}), segmentation=CROWD_POLY,
            bbox=(12.5, 40.2, 47.8, 35.4)),
        ann(3, bbox=(2, 2, 8, 8), keypoints=kps({i: (4, 4, 1) for i in range(8)})),  # area 64
        ann(4, bbox=(60, 50, 30, 25), keypoints=kps({0: (70, 60, 2), 1: (71, 61, 2),
                                                     2: (72, 62, 2)})),
        ann(5, image_id=2, iscrowd=1, keypoints=kps({}), bbox=(70, 5, 25, 15),
            segmentation=uncompressed_rle(crowd_rle)),
        ann(6, image_id=4),
        ann(7, image_id=5),
    ]
    images = [image(i) for i in range(1, 6)]
    root = write_set(tmp_path, images, annotations, missing={4}, corrupt={5})
    return root, crowd_rle


# ----------------------------------------------------------------------------- dataset

def test_mini_set_counts_match_pycocotools():
    from pycocotools.coco import COCO
    coco = COCO(os.path.join(mini_coco_root(), "annotations", MINI_COCO_SPLIT + ".json"))
    ds = mini_coco_bottom_up(image_format="numpy")
    expect = {}
    for img_id in sorted(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False))
        n = sum(1 for a in anns if np.sum(np.asarray(a["keypoints"][2::3]) > 0) >= 5
                and a["area"] >= 32 ** 2)
        if n:
            expect[img_id] = n
    got = {r["image_id"]: len(r["joints"]) for r in ds.records}
    assert got == expect
    assert sum(ds.people.values()) == ds.num_read == len(coco.getAnnIds())
    assert ds.people["crowd"] == len(coco.getAnnIds(iscrowd=True))
    assert len(ds) + ds.skipped["no usable person"] == ds.num_images == len(coco.getImgIds())
    # AE's rule: everyone with a labelled keypoint, every image
    ae = mini_coco_bottom_up(min_keypoints=1, min_area=0, mask_dropped=False, skip_empty=False)
    assert len(ae) == len(coco.getImgIds())
    n_ae = sum(1 for a in coco.loadAnns(coco.getAnnIds(iscrowd=False))
               if np.any(np.asarray(a["keypoints"][2::3]) > 0))
    assert sum(len(r["joints"]) for r in ae.records) == n_ae
    # an item: shapes, dtypes, image agrees with the json size, coco object and path
    img, label = ds[0]
    assert img.dtype == np.uint8 and img.shape[2] == 3
    assert label["mask"].shape == img.shape[:2] and label["mask"].dtype == np.uint8
    assert label["joints"].dtype == np.float32 and label["joints"].shape[1:] == (17, 3)
    assert label["boxes"].shape == (len(label["joints"]), 4)
    info = ds.coco.loadImgs(label["image_id"])[0]
    assert os.path.basename(ds.image_path(0)) == info["file_name"]


def test_crowd_masks_exactly(tiny):
    root, crowd_rle = tiny
    ds = COCOBottomUp(root, SPLIT, image_format="numpy")
    assert [r["image_id"] for r in ds.records] == [1, 5]       # 5: corrupt, found on read
    img, label = ds[0]
    assert label["ann_ids"].tolist() == [1]
    np.testing.assert_array_equal(label["joints"][0, :5, :2],
                                  np.array([[20 + i, 20 + i] for i in range(5)], np.float32))
    expect = 1 - (coco_raster(CROWD_POLY) | coco_raster(box_poly(2, 2, 10, 10))
                  | coco_raster(box_poly(60, 50, 90, 75)))
    np.testing.assert_array_equal(label["mask"], expect)
    assert label["mask"][60, 35] == 0 and label["mask"][5, 60] == 1
    # crowd only (AE): the small and the 3-keypoint person are no longer masked
    ae = COCOBottomUp(root, SPLIT, min_keypoints=1, min_area=0, mask_dropped=False,
                      skip_empty=False)
    lab = ae.label(0)
    np.testing.assert_array_equal(lab["mask"], 1 - coco_raster(CROWD_POLY))
    assert lab["ann_ids"].tolist() == [1, 3, 4]
    # uncompressed crowd RLE of image 2 comes back exactly
    np.testing.assert_array_equal(ae.label(1)["mask"], 1 - crowd_rle)
    assert ae.label(1)["joints"].shape == (0, 17, 3)


def test_small_and_sparse_people_masked(tiny):
    root, _ = tiny
    ds = COCOBottomUp(root, SPLIT)
    mask = ds.mask(0)
    assert (mask[2:10, 2:10] == 0).all()          # area 64 < 32²
    assert (mask[51:74, 61:89] == 0).all()        # 3 keypoints < 5
    assert ds.people["too small"] == 1 and ds.people["too few keypoints"] == 1
    assert ds.people["crowd"] == 2 and ds.people["supervised"] == 3
    lax = COCOBottomUp(root, SPLIT, min_keypoints=3, min_area=0)
    assert lax.records[0]["ann_ids"].tolist() == [1, 3, 4]
    np.testing.assert_array_equal(lax.mask(0), 1 - coco_raster(CROWD_POLY))


def test_rasterize_falls_back_to_box():
    mask = rasterize_ignore_mask([([], [10, 20, 5, 4]), ([[1, 2]], [0, 0, 2, 2])], 30, 40)
    assert mask.sum() == 30 * 40 - 20 - 4
    assert (mask[20:24, 10:15] == 0).all()
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray((np.arange(30)[:, None] < 7)
                                              & (np.arange(40) < 9)).astype(np.uint8))
    rle["counts"] = rle["counts"].decode("ascii")     # as a json holds it
    assert rasterize_ignore_mask([(rle, [0, 0, 1, 1])], 30, 40).sum() == 30 * 40 - 63
    assert rasterize_ignore_mask([], 3, 4).tolist() == np.ones((3, 4)).tolist()


def test_empty_and_missing_images_counted(tiny, caplog):
    root, _ = tiny
    with caplog.at_level(logging.INFO, logger="gluonpose.data.mscoco.bottom_up"):
        ds = COCOBottomUp(root, SPLIT)
    # 2 (crowd only) and 3 (nobody) have no usable person, 4 is missing, 5 is corrupt but kept
    assert ds.skipped == {"no usable person": 2, "missing image": 1}
    assert [r["image_id"] for r in ds.records] == [1, 5]
    assert len(ds) == 2 and ds.num_images == 5
    line = [r.getMessage() for r in caplog.records][-1]
    assert "no usable person 2" in line and "missing image 1" in line and "\n" not in line
    assert "masked: crowd 2, too few keypoints 1, too small 1" in line
    keep_all = COCOBottomUp(root, SPLIT, skip_empty=False)
    assert [r["image_id"] for r in keep_all.records] == [1, 2, 3, 5]
    with pytest.raises(FileNotFoundError, match="000000000004.png"):
        COCOBottomUp(root, SPLIT, strict=True)


def test_broken_image_one_line(tiny):
    root, _ = tiny
    ds = COCOBottomUp(root, SPLIT)
    with pytest.raises(OSError) as err:
        ds[1]
    msg = str(err.value)
    assert ds.image_path(1) in msg and "\n" not in msg
    assert ds.label(1)["image_id"] == 5              # the label needs no image


def test_wrong_image_size_named(tmp_path):
    root = write_set(tmp_path, [image(1)], [ann(1)])
    cv2.imwrite(os.path.join(root, "train2017", "000000000001.png"),
                np.zeros((10, 10, 3), np.uint8))
    ds = COCOBottomUp(root, SPLIT)
    with pytest.raises(OSError, match="000000000001.png is 10x10 but"):
        ds[0]


# ----------------------------------------------------------------------------- train transform

def gradient_image(h=100, w=200):
    """Channel 0 = x, channel 1 = y, channel 2 = 200: bilinear sampling is exact on it."""
    img = np.empty((h, w, 3), np.uint8)
    img[:, :, 0] = np.arange(w)[None, :]
    img[:, :, 1] = np.arange(h)[:, None]
    img[:, :, 2] = 200
    return img


def person_label(mask=None):
    joints = np.zeros((1, 17, 3), np.float32)
    joints[0, 0] = (70, 50, 2)      # box centre
    joints[0, 5] = (50, 20, 1)      # left shoulder: the box corner
    joints[0, 6] = (88, 30, 2)      # right shoulder
    joints[0, 15] = (1, 1, 2)       # far left: falls outside the crop
    label = {"joints": joints, "boxes": np.array([[50, 20, 90, 80]], np.float32),
             "areas": np.array([2400.0], np.float32), "image_id": 7}
    if mask is not None:
        label["mask"] = mask
    return label


def denorm(tensor):
    return tensor.asnumpy().transpose(1, 2, 0) * STD + MEAN


def fixed(**kw):
    args = dict(input_size=64, stride=8, scale_range=(1, 1), max_rotation=0,
                center_perturb=0, flip_prob=0, rng=0)
    args.update(kw)
    return BottomUpTrainTransform(**args)


def test_train_joints_follow_the_affine():
    img = gradient_image()
    t = fixed()
    out, joints, mask = t(img, person_label())
    # box height 60 -> s = 0.6 * 64 / 60 = 0.64, box centre (70, 50) -> (32, 32)
    s = 0.64
    assert t.last_params["scale"] == pytest.approx(s)
    np.testing.assert_allclose(joints[0, 0], [32, 32, 2], atol=1e-5)
    np.testing.assert_allclose(joints[0, 5], [32 - 20 * s, 32 - 30 * s, 1], atol=1e-5)
    np.testing.assert_allclose(joints[0, 6], [32 + 18 * s, 32 - 20 * s, 2], atol=1e-5)
    assert joints[0, 15, 2] == 0 and joints[0, 1, 2] == 0       # outside / unlabelled
    assert out.shape == (3, 64, 64) and joints.dtype == np.float32
    assert mask.shape == (64, 64) and mask.dtype == np.float32 and (mask == 1).all()
    # the image moved with the same matrix: pixel (x, y) samples source (70 + (x-32)/s, ...)
    px = denorm(out) * 255
    for x, y in [(32, 32), (10, 50), (60, 3)]:
        assert px[y, x, 0] == pytest.approx(70 + (x - 32) / s, abs=0.6)
        assert px[y, x, 1] == pytest.approx(50 + (y - 32) / s, abs=0.6)
    # a tiny scale leaves most of the input outside the source: pad 128, mask 1
    small = fixed(target_height=0.05)
    out, _, mask = small(img, person_label(np.zeros((100, 200), np.uint8)))
    px = denorm(out) * 255
    np.testing.assert_allclose(px[0, 0], [128, 128, 128], atol=0.01)
    assert mask[0, 0] == 1 and mask[32, 32] == 0


def test_train_flip_mirrors_and_relabels():
    img = gradient_image()
    base_out, base, _ = fixed()(img, person_label())
    flip_t = fixed(flip_prob=1.0)
    out, flipped, _ = flip_t(img, person_label())
    assert flip_t.last_params["flip"]
    perm = get_schema("coco").flip_index
    expect = base[0, perm].copy()
    expect[:, 0] = 63 - expect[:, 0]
    labelled = expect[:, 2] > 0
    np.testing.assert_allclose(flipped[0][labelled], expect[labelled], atol=1e-4)
    np.testing.assert_array_equal(flipped[0, :, 2], expect[:, 2])
    # left shoulder of the flipped sample is the mirrored right shoulder
    assert flipped[0, 5, 0] == pytest.approx(63 - base[0, 6, 0], abs=1e-4)
    assert flipped[0, 5, 2] == 2 and flipped[0, 6, 2] == 1
    np.testing.assert_allclose(out.asnumpy(), base_out.asnumpy()[:, :, ::-1], atol=0.03)


def test_train_mask_warps_with_the_image():
    img = np.zeros((120, 160, 3), np.uint8)
    mask = np.ones((120, 160), np.uint8)
    img[30:70, 40:100] = 255
    mask[30:70, 40:100] = 0
    label = {"joints": np.zeros((1, 17, 3), np.float32), "mask": mask,
             "boxes": np.array([[30, 20, 110, 100]], np.float32)}
    t = BottomUpTrainTransform(input_size=96, rng=5, flip_prob=0.5)
    for _ in range(4):
        out, _, wmask = t(img, label)
        bright = denorm(out)[:, :, 0] > 0.75
        ignored = wmask < 0.5
        assert ignored.sum() > 50
        assert (bright != ignored).mean() < 0.03
        assert wmask.min() >= 0 and wmask.max() <= 1


def test_train_seeded_and_shapes():
    img = gradient_image()
    label = person_label(np.ones((100, 200), np.uint8))
    label["joints"] = np.repeat(label["joints"], 3, axis=0)
    label["boxes"] = np.array([[50, 20, 90, 80], [0, 0, 30, 30], [100, 10, 190, 95]],
                              np.float32)
    label["areas"] = np.array([2400, 900, 7650], np.float32)
    a, b, c = (BottomUpTrainTransform(input_size=128, rng=s) for s in (11, 11, 12))
    for _ in range(3):
        ra, rb, rc = a(img, label), b(img, label), c(img, label)
        np.testing.assert_array_equal(ra[0].asnumpy(), rb[0].asnumpy())
        np.testing.assert_array_equal(ra[1], rb[1])
        np.testing.assert_array_equal(ra[2], rb[2])
        assert a.last_params["main"] == 2                    # the largest area
        assert ra[1].shape == (3, 17, 3) and ra[2].shape == (128, 128)
    assert a.last_params["scale"] != c.last_params["scale"]
    assert abs(a.last_params["rotation"]) <= 40 and max(map(abs, a.last_params["offset"])) <= 40
    # random main person, no person at all, encoder output
    r = BottomUpTrainTransform(input_size=64, rng=1, main_person="random")
    mains = set()
    for _ in range(20):
        r(img, label)
        mains.add(r.last_params["main"])
    assert mains == {0, 1, 2}
    empty = {"joints": np.zeros((0, 17, 3), np.float32), "boxes": np.zeros((0, 4))}
    out, joints, mask = r(img, empty)
    assert joints.shape == (0, 17, 3) and out.shape == (3, 64, 64)

    class Encoder:
        def encode(self, joints, input_size, mask):
            self.args = (joints, input_size, mask)
            return joints.sum(), mask.mean()

    enc = Encoder()
    res = BottomUpTrainTransform(input_size=64, encoder=enc, rng=0)(img, label)
    assert len(res) == 3 and enc.args[1] == (64, 64) and enc.args[0].shape == (3, 17, 3)
    with pytest.raises(ValueError, match="multiple of stride"):
        BottomUpTrainTransform(input_size=100, stride=8)
    with pytest.raises(ValueError, match=r"\(P, 17, 3\)"):
        r(img, {"joints": np.zeros((1, 16, 3)), "boxes": np.zeros((1, 4))})


def test_train_on_dataset_items():
    ds = mini_coco_bottom_up().transform(BottomUpTrainTransform(rng=0))
    out, joints, mask = ds[0]
    assert out.shape == (3, 368, 368) and joints.shape[1:] == (17, 3) and mask.shape == (368, 368)


# ----------------------------------------------------------------------------- val transform

def test_val_pads_to_stride():
    img = np.full((75, 100, 3), 30, np.uint8)
    t = BottomUpValTransform(input_size=50, stride=8, scales=(0.5, 1.0, 2.0))
    images, meta = t(img, {"image_id": 3})
    np.testing.assert_allclose(meta["multipliers"], [25 / 75, 50 / 75, 100 / 75])
    assert meta["sizes"].tolist() == [[25, 33], [50, 67], [100, 133]]
    assert meta["padded_sizes"].tolist() == [[32, 40], [56, 72], [104, 136]]
    assert meta["image_size"] == (75, 100) and meta["image_id"] == 3
    for im, (h, w), (ph, pw) in zip(images, meta["sizes"], meta["padded_sizes"]):
        assert im.shape == (3, ph, pw) and ph % 8 == 0 and pw % 8 == 0
        px = denorm(im) * 255
        np.testing.assert_allclose(px[:h, :w], 30, atol=0.01)
        np.testing.assert_allclose(px[h:], 128, atol=0.01)
        np.testing.assert_allclose(px[:, w:], 128, atol=0.01)


def test_val_maps_back():
    yy, xx = np.mgrid[0:90, 0:120]
    x0, y0 = 61.3, 27.8
    blob = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 4.0 ** 2))
    img = np.repeat((blob * 250).astype(np.uint8)[:, :, None], 3, axis=2)
    t = BottomUpValTransform(input_size=90, stride=8, scales=(0.7, 1.9))
    images, meta = t(img)
    for i, im in enumerate(images):
        val = denorm(im)[:, :, 0] * 255          # the blob on a black image
        h, w = meta["sizes"][i]
        val = np.clip(val[:h, :w], 0, None)
        gy, gx = np.mgrid[0:h, 0:w]
        peak = np.array([(val * gx).sum() / val.sum(), (val * gy).sum() / val.sum()])
        back = t.to_image(peak, meta, i)
        np.testing.assert_allclose(back, [x0, y0], atol=0.15)
    # maps at the output stride come back at the image size
    ph, pw = meta["padded_sizes"][1]
    maps = np.full((5, ph // 8, pw // 8), 0.25, np.float32)
    back = t.maps_to_image(maps, meta, 1)
    assert back.shape == (5, 90, 120)
    np.testing.assert_allclose(back, 0.25, atol=1e-5)
