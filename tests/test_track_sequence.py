"""The synthetic tracking clip: video file, stable identities, pixel-exact
pasting at ground-truth joints, exits from the frame and the forced occlusion."""
import importlib.util
import json
import os

import cv2
import numpy as np
import pytest

from gluonpose.data import mini_coco_root

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_FRAMES = 20


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "make_track_sequence", os.path.join(REPO, "tools", "make_track_sequence.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


tool = _load_tool()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("track_sequence"))
    gt, frames = tool.make_sequence(out, num_frames=NUM_FRAMES, seed=3, return_frames=True)
    return out, gt, frames


def _people(gt, track_id):
    """Frame index -> (17, 3) keypoints of one track, where it is listed."""
    return {f["frame"]: np.asarray(p["keypoints"]).reshape(17, 3)
            for f in gt["frames"] for p in f["people"] if p["track_id"] == track_id}


def test_video_and_json_written(clip):
    out, gt, frames = clip
    cap = cv2.VideoCapture(os.path.join(out, "sequence.mp4"))
    assert cap.isOpened()
    read = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        read.append(frame)
    cap.release()
    assert len(read) == NUM_FRAMES == len(frames) == len(gt["frames"])
    assert all(f.shape == (288, 384, 3) for f in read)
    assert (gt["width"], gt["height"]) == (384, 288)
    # Lossy codec, but the decoded video is the rendered clip.
    assert np.abs(read[5].astype(int) - frames[5].astype(int)).mean() < 8
    with open(os.path.join(out, "ground_truth.json"), encoding="utf-8") as f:
        assert json.load(f) == json.loads(json.dumps(gt))


def test_deterministic_with_seed(clip):
    _, gt, frames = clip
    again, frames2 = tool.make_sequence(None, num_frames=NUM_FRAMES, seed=3, return_frames=True)
    assert again == gt
    assert all(np.array_equal(a, b) for a, b in zip(frames, frames2))


def test_ids_stable_and_joints_follow_the_paste_offset(clip):
    _, gt, _ = clip
    with open(os.path.join(mini_coco_root(), "annotations", "person_keypoints_train2017.json"),
              encoding="utf-8") as f:
        anns = {a["id"]: a for a in json.load(f)["annotations"]}
    assert [t["track_id"] for t in gt["tracks"]] == [1, 2, 3, 4]
    assert len({t["annotation_id"] for t in gt["tracks"]}) == 4
    for fr in gt["frames"]:
        ids = [p["track_id"] for p in fr["people"]]
        assert len(ids) == len(set(ids)) and set(ids) <= {1, 2, 3, 4}
    for track in gt["tracks"]:
        src = np.asarray(anns[track["annotation_id"]]["keypoints"], float).reshape(17, 3)
        x0, y0 = track["patch"][:2]
        for f, kp in _people(gt, track["track_id"]).items():
            vis = kp[:, 2] > 0
            assert vis.any()
            shift = np.asarray(track["positions"][f]) - (x0, y0)
            # Every visible joint is its own source joint moved by this
            # track's offset, so the id always names the same pasted person.
            np.testing.assert_allclose(kp[vis, :2], src[vis, :2] + shift, atol=1e-3)
            np.testing.assert_array_equal(kp[vis, 2], src[vis, 2])
            assert np.all(kp[~vis] == 0)


def test_pixels_at_visible_joints_come_from_the_source(clip):
    _, gt, frames = clip
    root = mini_coco_root()
    checked = 0
    for track in gt["tracks"]:
        img = cv2.imread(os.path.join(root, "train2017", track["file_name"]), cv2.IMREAD_COLOR)
        x0, y0 = track["patch"][:2]
        for f, kp in _people(gt, track["track_id"]).items():
            x, y = track["positions"][f]
            vis = kp[:, 2] > 0
            col, row = np.floor(kp[vis, 0]).astype(int), np.floor(kp[vis, 1]).astype(int)
            np.testing.assert_array_equal(frames[f][row, col],
                                          img[row - y + y0, col - x + x0])
            checked += int(vis.sum())
    assert checked > 100


def test_people_outside_the_frame_are_absent(clip):
    _, gt, _ = clip
    w, h = gt["width"], gt["height"]
    outside_any = 0
    for track in gt["tracks"]:
        pw = track["patch"][2] - track["patch"][0]
        ph = track["patch"][3] - track["patch"][1]
        listed = _people(gt, track["track_id"])
        for f, (x, y) in enumerate(track["positions"]):
            if x + pw <= 0 or x >= w or y + ph <= 0 or y >= h:
                assert f not in listed
                outside_any += 1
    assert outside_any >= 2
    # Track 3 leaves and comes back: listed, then absent, then listed again.
    frames3 = sorted(_people(gt, 3))
    assert frames3[0] == 0 and np.diff(frames3).max() > 1


def test_forced_occlusion_hides_the_track(clip):
    _, gt, frames = clip
    (occ,) = gt["forced_occlusions"]
    a, b = occ["frames"]
    assert b - a + 1 == max(3, NUM_FRAMES // 6)
    listed = _people(gt, occ["track_id"])
    assert not any(a <= f <= b for f in listed)
    assert any(f < a for f in listed) and any(f > b for f in listed)
    # Whole patch behind the pillar: its pixels there are the pillar colour.
    px0, py0, px1, py1 = gt["pillar"]
    track = gt["tracks"][occ["track_id"] - 1]
    pw = track["patch"][2] - track["patch"][0]
    for f in range(a, b + 1):
        x = track["positions"][f][0]
        assert px0 <= x and x + pw <= px1
        assert np.all(frames[f][py0:py1, px0:px1] == frames[a][py0:py1, px0:px1])
