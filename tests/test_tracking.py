"""Pose tracking: hand-checked similarity values, matrices equal to pair loops, and the
online tracker on synthetic moving people (crossings, gaps, births, empty frames)."""

import numpy as np
import pytest

from gluonpose.data.schema import COCO_PERSON
from gluonpose.tracking import PoseTracker
from gluonpose.tracking.similarity import (box_areas, box_iou, boxes_mask, correspondence_iou,
                                           keypoint_box_iou, keypoint_regions_mask, oks_matrix,
                                           orb_matches, pose_boxes)
from gluonpose.utils.pose_nms import oks_iou

# a standing COCO-17 person about 60 x 150 px, joints relative to the mid-hip
TEMPLATE = np.array([
    [0, -110], [-5, -115], [5, -115], [-12, -110], [12, -110],        # nose, eyes, ears
    [-22, -85], [22, -85], [-30, -50], [30, -50], [-32, -15], [32, -15],  # arms
    [-12, 0], [12, 0], [-14, 40], [14, 40], [-15, 80], [15, 80]], dtype=np.float64)


def person(cx, cy, conf=0.9, jitter=None):
    xy = TEMPLATE + [cx, cy]
    if jitter is not None:
        xy = xy + jitter
    return np.concatenate([xy, np.full((17, 1), conf)], axis=1)


# ------------------------------------------------------------------------------------------
# similarity: hand values


def test_box_iou_hand_values():
    a = [[0, 0, 10, 10], [0, 0, 2, 2]]
    b = [[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30]]
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(25 / 175)
    assert iou[0, 1] == pytest.approx(1.0)
    assert iou[0, 2] == 0.0
    assert iou[1, 1] == pytest.approx(4 / 100)
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)
    # degenerate boxes give 0, not nan
    assert box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0] == 0.0


def test_pose_boxes_visible_extent_expanded_and_clipped():
    kp = np.array([[[10, 20, 0.9], [30, 60, 0.8], [500, 500, 0.05]]])
    # extent 20 x 40 -> 10 % per side: 2 and 4 px
    np.testing.assert_allclose(pose_boxes(kp, thresh=0.2), [[8, 16, 32, 64]])
    np.testing.assert_allclose(pose_boxes(kp, thresh=0.2, size=(31, 100)), [[8, 16, 31, 64]])
    # no joint above the threshold: all joints span the box
    low = kp.copy()
    low[..., 2] = 0.01
    np.testing.assert_allclose(pose_boxes(low, thresh=0.2)[0, 2:], [549, 548])
    assert box_areas([[8, 16, 32, 64]])[0] == pytest.approx(24 * 48)


def test_keypoint_box_iou_hand_case():
    a = np.array([[[0, 0], [100, 100], [200, 200]]], dtype=float)
    b = np.array([[[0, 0], [130, 100], [260, 200]]], dtype=float)
    # squares of side 60: same centre -> 1; 30 px apart -> 1800 / (7200 - 1800) = 1/3;
    # 60 px apart -> 0
    assert keypoint_box_iou(a, b, num=7, mag=30)[0, 0] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert keypoint_box_iou(a, b, num=2, mag=30)[0, 0] == pytest.approx((1 + 1 / 3) / 2)
    assert keypoint_box_iou(a, b, num=1, mag=30)[0, 0] == pytest.approx(1.0)
    # a joint below the threshold in either pose counts as 0
    a3 = np.concatenate([a, [[[0.1], [1], [1]]]], axis=2)
    b3 = np.concatenate([b, [[[1], [1], [1]]]], axis=2)
    assert keypoint_box_iou(a3, b3, num=2, thresh=0.2)[0, 0] == pytest.approx((1 / 3 + 0) / 2)


def test_oks_matrix_hand_formula():
    a = person(100, 200)
    b = a.copy()
    b[:, :2] += [3, 4]                     # every joint 5 px away
    area = box_areas(pose_boxes(a[None], 0.2))[0]
    expected = np.mean(np.exp(-25.0 / (2.0 * area * (2 * COCO_PERSON.sigmas) ** 2)))
    got = oks_matrix(a[None], b[None], [area], [area], sigmas=COCO_PERSON, vis_thresh=0.2)
    assert got[0, 0] == pytest.approx(expected, rel=1e-9)
    # only joints confident in both poses count: hide the moved joints in either pose
    c = a.copy()
    c[5:, :2] += 50
    a_vis = a.copy()
    a_vis[5:, 2] = 0.0
    c_vis = c.copy()
    c_vis[5:, 2] = 0.0
    assert oks_matrix(a_vis[None], c[None], [area], [area], vis_thresh=0.2)[0, 0] == \
        pytest.approx(1.0)
    assert oks_matrix(a[None], c_vis[None], [area], [area], vis_thresh=0.2)[0, 0] == \
        pytest.approx(1.0)
    # no joint in common: 0; pycocotools' one-sided rule looks at the row pose only
    assert oks_matrix(a_vis[None], c_vis[None] * [1, 1, 0], [area], [area],
                      vis_thresh=0.2)[0, 0] == 0.0
    assert oks_matrix(a[None], c_vis[None], [area], [area], vis_thresh=0.2,
                      symmetric=False)[0, 0] < 0.5
    with pytest.raises(ValueError, match="17 OKS sigmas"):
        oks_matrix(a[None, :16], b[None, :16], [area], [area], sigmas=COCO_PERSON)


def test_correspondence_iou_hand_case():
    # 4 matches: region a contains points 0, 1, 2; region b (other frame) contains 1, 2, 3
    inside_a = np.array([[1], [1], [1], [0]], dtype=bool)
    inside_b = np.array([[0], [1], [1], [1]], dtype=bool)
    assert correspondence_iou(inside_a, inside_b)[0, 0] == pytest.approx(2 / 4)
    assert correspondence_iou(np.zeros((3, 1), bool), np.zeros((3, 2), bool)).tolist() == [[0, 0]]


# ------------------------------------------------------------------------------------------
# similarity: matrices equal pair-by-pair loops


def _random_poses(rng, n):
    xy = rng.uniform(0, 200, size=(n, 1, 2)) + rng.normal(0, 25, size=(n, 17, 2))
    return np.concatenate([xy, rng.uniform(0, 1, size=(n, 17, 1))], axis=2)


def test_matrices_equal_pair_loops():
    rng = np.random.RandomState(0)
    ta, tb = _random_poses(rng, 5), _random_poses(rng, 4)
    ba, bb = pose_boxes(ta, 0.3, size=(220, 230)), pose_boxes(tb, 0.3, size=(220, 230))
    aa, ab = box_areas(ba), box_areas(bb)
    pts_a, pts_b = rng.uniform(-10, 240, (60, 2)), rng.uniform(-10, 240, (60, 2))
    iou, kiou = box_iou(ba, bb), keypoint_box_iou(ta, tb, num=7, mag=30)
    oks = oks_matrix(ta, tb, aa, ab, sigmas=COCO_PERSON, vis_thresh=0.3)
    oks_row = oks_matrix(ta, tb, aa, ab, sigmas=COCO_PERSON, vis_thresh=0.3, symmetric=False)
    corr = correspondence_iou(boxes_mask(pts_a, ba), boxes_mask(pts_b, bb))
    kcorr = correspondence_iou(keypoint_regions_mask(pts_a, ta, 30),
                               keypoint_regions_mask(pts_b, tb, 30))

    def rect_iou(p, q):
        iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - iw * ih
        return iw * ih / union if union > 0 else 0.0

    def in_squares(pt, kp):
        return any(abs(pt[0] - x) <= 30 and abs(pt[1] - y) <= 30 for x, y in kp[:, :2])

    for i in range(5):
        for j in range(4):
            assert iou[i, j] == pytest.approx(rect_iou(ba[i], bb[j]), abs=1e-12)
            sq = [rect_iou([x0 - 30, y0 - 30, x0 + 30, y0 + 30], [x1 - 30, y1 - 30, x1 + 30,
                                                                  y1 + 30])
                  for (x0, y0), (x1, y1) in zip(ta[i, :, :2], tb[j, :, :2])]
            assert kiou[i, j] == pytest.approx(np.mean(sorted(sq)[-7:]), abs=1e-12)
            vis = (ta[i, :, 2] > 0.3) & (tb[j, :, 2] > 0.3)
            s = (aa[i] + ab[j]) / 2
            e = [((ta[i, k, 0] - tb[j, k, 0]) ** 2 + (ta[i, k, 1] - tb[j, k, 1]) ** 2)
                 / (2 * COCO_PERSON.sigmas[k]) ** 2 / (s + np.spacing(1)) / 2
                 for k in range(17) if vis[k]]
            assert oks[i, j] == pytest.approx(np.mean(np.exp(-np.array(e))), abs=1e-12)
            assert oks_row[i, j] == pytest.approx(
                oks_iou(ta[i], tb[j], aa[i], ab[j], sigmas=COCO_PERSON, vis_thresh=0.3),
                abs=1e-12)
            both = either = 0
            kboth = keither = 0
            for p, q in zip(pts_a, pts_b):
                ina = ba[i, 0] <= p[0] <= ba[i, 2] and ba[i, 1] <= p[1] <= ba[i, 3]
                inb = bb[j, 0] <= q[0] <= bb[j, 2] and bb[j, 1] <= q[1] <= bb[j, 3]
                both, either = both + (ina and inb), either + (ina or inb)
                ka, kb = in_squares(p, ta[i]), in_squares(q, tb[j])
                kboth, keither = kboth + (ka and kb), keither + (ka or kb)
            assert corr[i, j] == pytest.approx(both / either if either else 0.0)
            assert kcorr[i, j] == pytest.approx(kboth / keither if keither else 0.0)


# ------------------------------------------------------------------------------------------
# the tracker


def _crossing(num_frames=30, seed=0):
    """Two people walking towards and past each other at 10 px / frame."""
    rng = np.random.RandomState(seed)
    frames = []
    for t in range(num_frames):
        a = person(100 + 10 * t, 200, jitter=rng.normal(0, 1, (17, 2)))
        b = person(400 - 10 * t, 230, jitter=rng.normal(0, 1, (17, 2)))
        frames.append([a, b] if t % 2 == 0 else [b, a])   # input order must not matter
    return frames


@pytest.mark.parametrize("similarity", ["poseflow", "oks"])
def test_identities_kept_through_a_crossing(similarity):
    tracker = PoseTracker(similarity=similarity)
    for t, poses in enumerate(_crossing()):
        ids = tracker.update(poses)
        assert ids == ([1, 2] if t % 2 == 0 else [2, 1]), (t, ids)
    assert sorted(tracker.tracks) == [1, 2]
    assert tracker.tracks[1].hits == 30 and tracker.tracks[1].age == 30


def test_leave_and_return_within_link_keeps_the_id():
    tracker = PoseTracker(link=100)
    ids = []
    for t in range(20):
        a = person(100 + 2 * t, 200)
        b = person(400, 200)
        # a is missing for frames 5..9 (5 frames) and comes back 12 px further on
        ids.append(tracker.update([b] if 5 <= t < 10 else [a, b]))
    assert ids[4] == [1, 2] and ids[5] == [2] and ids[10] == [1, 2] and ids[19] == [1, 2]
    assert tracker.tracks[1].hits == 15


@pytest.mark.parametrize("absent,same", [(4, True), (5, False)])
def test_link_bounds_the_gap(absent, same):
    # link=5: back after 4 missing frames (gap 5) keeps its id, after 5 (gap 6) does not
    tracker = PoseTracker(link=5)
    for t in range(3):
        assert tracker.update([person(100, 200)]) == [1]
    for _ in range(absent):
        assert tracker.update([]) == []
    assert tracker.update([person(100, 200)]) == ([1] if same else [2])
    assert sorted(tracker.tracks) == ([1] if same else [2])


def test_new_person_gets_a_new_id_and_ids_follow_birth_order():
    tracker = PoseTracker()
    assert tracker.update([person(100, 200)]) == [1]
    assert tracker.update([person(600, 200), person(101, 200), person(300, 200)]) == [2, 1, 3]
    assert tracker.update([person(300, 201), person(102, 200), person(601, 200)]) == [3, 1, 2]


def test_empty_frames_and_explicit_indices():
    tracker = PoseTracker()
    assert tracker.update([]) == []
    assert tracker.tracks == {}
    assert tracker.update([person(100, 200)], frame_index=3) == [1]
    assert tracker.update([], frame_index=4) == []
    assert tracker.tracks[1].misses == 1
    assert tracker.update([person(103, 200)], frame_index=6) == [1]
    with pytest.raises(ValueError, match="increase"):
        tracker.update([], frame_index=6)
    tracker.reset()
    assert tracker.tracks == {} and tracker.update([person(0, 0)]) == [1]


def test_deterministic():
    frames = _crossing(seed=3)
    frames[10].append(person(250, 400))
    tracker = PoseTracker()
    first = [tracker.update(p) for p in frames]
    tracker.reset()
    again = [tracker.update(p) for p in frames]
    fresh = PoseTracker()
    assert first == again == [fresh.update(p) for p in frames]


def test_assignment_maximises_the_total_grade(monkeypatch):
    tracker = PoseTracker()
    assert tracker.update([person(0, 0), person(300, 0), person(600, 0)]) == [1, 2, 3]
    # rows: tracks 1, 2, 3; columns: new poses. Greedy would take 0.9 (1 -> pose 0) and
    # leave track 2 unmatched (total 1.4); the best total is 0.8 + 0.8 + 0.5 = 2.1
    grade = np.array([[0.9, 0.8, 0.0],
                      [0.8, 0.0, 0.0],
                      [0.0, 0.0, 0.5]])
    monkeypatch.setattr(tracker, "_grade", lambda *args: grade)
    assert tracker.update([person(0, 0), person(1, 0), person(2, 0)]) == [2, 1, 3]
    # below the threshold a pair is refused even when it is the only one left
    monkeypatch.setattr(tracker, "_grade", lambda *args: grade * 0.2)
    assert tracker.update([person(0, 0), person(1, 0), person(2, 0)]) == [4, 5, 6]


def test_accepts_person_poses_and_weights_select_terms():
    from gluonpose.inference.results import PersonPose
    poses = [PersonPose(person(100, 200).astype(np.float32), np.array([0, 0, 1, 1.0]), 1.0,
                        0.8, 0)]
    tracker = PoseTracker(weights=(0, 0, 0, 0, 1, 1), weights_gap=(0, 0, 0, 0, 1, 1))
    assert tracker.update(poses) == [1]
    # only the scores count: 0.8 + 0.8 > 0.2 even for a person far away
    far = [PersonPose(person(900, 900).astype(np.float32), np.zeros(4), 1.0, 0.8, 1)]
    assert tracker.update(far) == [1]
    assert tracker.tracks[1].pose is far[0]


def test_oks_mode_checks_the_schema():
    tracker = PoseTracker(similarity="oks", schema="coco")
    assert tracker.match_threshold == 0.1
    assert tracker.update([person(0, 0)[:16]]) == [1]
    with pytest.raises(ValueError, match="OKS sigmas"):
        tracker.update([person(0, 0)[:16]])
    mpii = PoseTracker(similarity="oks", schema="mpii")
    assert mpii.update([person(0, 0)[:16]]) == [1] and mpii.update([person(1, 0)[:16]]) == [1]
    with pytest.raises(ValueError, match="similarity"):
        PoseTracker(similarity="iou")


def _texture(seed=0, shape=(240, 320)):
    import cv2
    rng = np.random.RandomState(seed)
    img = rng.uniform(0, 255, shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 2)
    # stretch the blurred noise back to the full range: ORB wants contrast
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def test_orb_matches_follow_a_shift_and_feed_the_tracker():
    pytest.importorskip("cv2")
    big = _texture()
    f0, f1 = big[:, 5:305], big[:, 0:300]           # the scene moves 5 px to the right
    pa, pb = orb_matches(f0, f1)
    assert len(pa) > 50
    shift = np.median(pb - pa, axis=0)
    np.testing.assert_allclose(shift, [5, 0], atol=0.5)
    tracker = PoseTracker(use_orb=True)
    assert tracker.update([person(100, 120), person(200, 120)], frame=f0) == [1, 2]
    assert tracker.update([person(205, 120), person(105, 120)], frame=f1) == [2, 1]
    # the correspondence terms alone link the people; without the frames they are 0
    only_orb = dict(weights=(1, 0, 1, 0, 0, 0), weights_gap=(0, 0, 0, 0, 0, 0))
    tracker = PoseTracker(use_orb=True, **only_orb)
    assert tracker.update([person(100, 120), person(200, 120)], frame=f0) == [1, 2]
    assert tracker.update([person(205, 120), person(105, 120)], frame=f1) == [2, 1]
    blind = PoseTracker(use_orb=True, **only_orb)
    assert blind.update([person(100, 120), person(200, 120)]) == [1, 2]
    assert blind.update([person(205, 120), person(105, 120)]) == [3, 4]
