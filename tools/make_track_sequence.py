"""Render a short synthetic video of people with known identities, for tracking.

People cut from the bundled mini COCO set (a rectangular patch around each
person's box) are pasted onto a blurred bundled image and moved along paths
chosen to stress a pose tracker:

* track 1 walks left to right along the bottom, track 2 right to left a little
  higher; they cross in the middle and track 2, pasted later, covers track 1;
* track 3 swings across the top, leaves the frame on the right, comes back,
  leaves on the left and comes back again;
* track 4 walks slowly behind an opaque pillar (drawn over everyone) and is
  completely hidden for ``occlusion_frames`` consecutive frames.

Usage::

    python tools/make_track_sequence.py OUT_DIR [--frames 72] [--seed 0]

writes ``OUT_DIR/sequence.mp4`` and ``OUT_DIR/ground_truth.json``.  From
Python, :func:`make_sequence` returns the ground truth (and, on request, the
frames as arrays, with no file written when ``out_dir`` is ``None``).

Ground-truth layout (``ground_truth.json``): the per-frame tracking layout of
:mod:`gluonpose.tracking.io` (which reads it, and in which tracked results
are written, so ``gluonpose eval-track ground_truth.json results.json``
compares them), plus the clip's own entries::

    {
      "width": 384, "height": 288, "fps": 30.0, "num_frames": 72, "seed": 0,
      "schema": "coco", "keypoint_names": [17 COCO names],
      "frames": [
        {"frame": 0,
         "people": [{"track_id": 1,
                     "keypoints": [x0, y0, v0, ..., x16, y16, v16],
                     "box": [x0, y0, x1, y1]}, ...]},
        ...],
      "tracks": [{"track_id": 1, "image_id": ..., "annotation_id": ...,
                  "file_name": ..., "patch": [x0, y0, x1, y1],
                  "positions": [[x, y] per frame]}, ...],
      "forced_occlusions": [{"track_id": 4, "frames": [first, last]}],
      "pillar": [x0, y0, x1, y1]
    }

Keypoints are in frame pixels (COCO convention: pixel ``(c, r)`` covers
``[c, c+1) x [r, r+1)``), shifted by the integer paste offset.  A joint keeps
its COCO visibility (1 or 2) only when it was labelled, lies inside the
pasted patch and the frame, and the pixel under it shows this person (not a
person pasted later, not the pillar); otherwise it is ``0, 0, 0``.  A person
is listed in a frame only when at least one joint is visible, so people
outside the frame or fully hidden are absent.  ``box`` is the pasted patch
clipped to the frame (it includes occluded parts).  ``forced_occlusions``
gives an inclusive frame range during which the track is entirely behind
the pillar.  In ``tracks``, ``patch`` is the cut rectangle in the source
image and ``positions`` the frame position of its top-left corner in every
frame (also when the person is hidden), so a source pixel ``(c, r)`` lands
on ``(c - patch[0] + x, r - patch[1] + y)``.
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

__all__ = ["make_sequence", "render_sequence", "pick_people"]

NUM_JOINTS = 17
_PILLAR_ID = -2
_PILLAR_BGR = (70, 80, 95)


def _load_coco(root):
    with open(os.path.join(root, "annotations", "person_keypoints_train2017.json"),
              encoding="utf-8") as f:
        return json.load(f)


def pick_people(coco, num_people, rng, max_height, max_width, min_keypoints=10):
    """Choose well-labelled people of a pasteable size, one per image.

    Parameters
    ----------
    coco : dict
        Parsed COCO keypoint annotation file.
    num_people : int
        How many to choose.
    rng : numpy.random.Generator
        Source of the (seeded) choice.
    max_height, max_width : int
        Largest box that still fits the paths in the frame.
    min_keypoints : int
        Fewest labelled joints.

    Returns
    -------
    list of dict
        The chosen annotations, narrowest last (it walks behind the pillar,
        whose width grows with the person's).
    """
    best = {}
    for ann in sorted(coco["annotations"], key=lambda a: a["id"]):
        _, _, w, h = ann["bbox"]
        if ann.get("iscrowd") or ann["num_keypoints"] < min_keypoints:
            continue
        if not (80 <= h <= max_height and w <= max_width):
            continue
        cur = best.get(ann["image_id"])
        if cur is None or ann["num_keypoints"] > cur["num_keypoints"]:
            best[ann["image_id"]] = ann
    pool = [best[k] for k in sorted(best)]
    if len(pool) < num_people:
        raise RuntimeError("only %d suitable people in the set, need %d" % (len(pool), num_people))
    chosen = [pool[i] for i in rng.choice(len(pool), num_people, replace=False)]
    return sorted(chosen, key=lambda a: -a["bbox"][2])


def _cut_patch(image, ann):
    """Integer patch around the box and the joints in patch coordinates."""
    ih, iw = image.shape[:2]
    bx, by, bw, bh = ann["bbox"]
    x0, y0 = max(int(np.floor(bx)), 0), max(int(np.floor(by)), 0)
    x1, y1 = min(int(np.ceil(bx + bw)), iw), min(int(np.ceil(by + bh)), ih)
    kp = np.asarray(ann["keypoints"], np.float64).reshape(NUM_JOINTS, 3)
    # A labelled joint outside the patch is not pasted, so it cannot be visible.
    inside = (kp[:, 0] >= x0) & (kp[:, 0] < x1) & (kp[:, 1] >= y0) & (kp[:, 1] < y1)
    kp[~(inside & (kp[:, 2] > 0))] = 0.0
    kp[kp[:, 2] > 0, :2] -= (x0, y0)
    return image[y0:y1, x0:x1].copy(), kp, [x0, y0, x1, y1]


def _paths(num_frames, sizes, width, height, occlusion_frames, speed):
    """Integer top-left positions ``(num_frames, P, 2)``, the pillar and the hidden range."""
    s = np.linspace(0.0, 1.0, num_frames)
    frames = np.arange(num_frames)
    pos = np.zeros((num_frames, len(sizes), 2))
    (w1, h1), (w2, h2), (w3, h3), (w4, h4) = sizes
    # Tracks 1 and 2 cross in the middle of the clip, near the bottom.
    pos[:, 0, 0] = 8 + (width - w1 - 16) * s
    pos[:, 0, 1] = height - h1 - 6
    pos[:, 1, 0] = width - w2 - 8 - (width - w2 - 16) * s
    pos[:, 1, 1] = height - h2 - 22
    # Track 3 swings far enough to be fully outside on both sides.
    amp = width / 2.0 + w3 + 24
    pos[:, 2, 0] = (width - w3) / 2.0 + amp * np.sin(2 * np.pi * s)
    pos[:, 2, 1] = 4
    # Track 4 walks at `speed` px/frame; the pillar is exactly wide enough to
    # hide it for `occlusion_frames` frames centred in the clip.
    first = (num_frames - occlusion_frames) // 2
    pillar_w = w4 + speed * (occlusion_frames - 1)
    px0 = width - pillar_w - 12
    pos[:, 3, 0] = px0 + speed * (frames - first)
    pos[:, 3, 1] = (height - h4) // 2
    pillar = [int(px0), 0, int(px0 + pillar_w), int(height)]
    return np.round(pos).astype(int), pillar, [first, first + occlusion_frames - 1]


def render_sequence(num_frames=72, seed=0, width=384, height=288, occlusion_frames=None,
                    speed=3, fps=30.0, root=None):
    """Render the frames and their ground truth in memory.

    Parameters
    ----------
    num_frames : int
        Length of the clip (at least 8).
    seed : int
        Chooses the people and the background; same seed, same clip.
    width, height : int
        Frame size in pixels.
    occlusion_frames : int, optional
        Length of track 4's full occlusion; default ``max(3, num_frames // 6)``.
    speed : int
        Track 4's walking speed in px per frame.
    fps : float
        Frame rate recorded in the ground truth (and the video).
    root : str, optional
        COCO-style root; default the bundled mini set.

    Returns
    -------
    frames : list of numpy.ndarray
        ``(height, width, 3)`` uint8 BGR frames.
    gt : dict
        Ground truth in the layout of the module docstring.
    """
    if num_frames < 8:
        raise ValueError("num_frames must be >= 8, got %d" % num_frames)
    occlusion_frames = max(3, num_frames // 6) if occlusion_frames is None else occlusion_frames
    if not 1 <= occlusion_frames <= num_frames - 4:
        raise ValueError("occlusion_frames must be in [1, num_frames - 4], got %d"
                         % occlusion_frames)
    if root is None:
        from gluonpose.data import mini_coco_root
        root = mini_coco_root()
    coco = _load_coco(root)
    rng = np.random.default_rng(seed)
    anns = pick_people(coco, 4, rng, max_height=int(height * 0.75), max_width=int(width * 0.34))
    files = {im["id"]: im["file_name"] for im in coco["images"]}

    patches, joints, boxes = [], [], []
    for ann in anns:
        img = cv2.imread(os.path.join(root, "train2017", files[ann["image_id"]]), cv2.IMREAD_COLOR)
        p, k, b = _cut_patch(img, ann)
        patches.append(p)
        joints.append(k)
        boxes.append(b)
    used = {a["image_id"] for a in anns}
    others = sorted(i for i in files if i not in used)
    bg_file = files[others[int(rng.integers(len(others)))]]
    background = cv2.imread(os.path.join(root, "train2017", bg_file), cv2.IMREAD_COLOR)
    background = cv2.GaussianBlur(cv2.resize(background, (width, height)), (0, 0), 20)

    sizes = [(p.shape[1], p.shape[0]) for p in patches]
    pos, pillar, hidden = _paths(num_frames, sizes, width, height, occlusion_frames, speed)

    frames, gt_frames = [], []
    for f in range(num_frames):
        frame = background.copy()
        owner = np.full((height, width), -1, np.int32)
        placed = []
        for i, patch in enumerate(patches):       # later people cover earlier ones
            ph, pw = patch.shape[:2]
            x, y = pos[f, i]
            fx0, fy0, fx1, fy1 = max(x, 0), max(y, 0), min(x + pw, width), min(y + ph, height)
            placed.append((fx0, fy0, fx1, fy1))
            if fx0 >= fx1 or fy0 >= fy1:
                continue
            frame[fy0:fy1, fx0:fx1] = patch[fy0 - y:fy1 - y, fx0 - x:fx1 - x]
            owner[fy0:fy1, fx0:fx1] = i
        px0, py0, px1, py1 = pillar
        frame[py0:py1, px0:px1] = _PILLAR_BGR
        owner[py0:py1, px0:px1] = _PILLAR_ID

        people = []
        for i in range(len(patches)):
            kp = joints[i].copy()
            lab = kp[:, 2] > 0
            kp[lab, :2] += pos[f, i]
            col = np.floor(kp[:, 0]).astype(int)
            row = np.floor(kp[:, 1]).astype(int)
            inside = lab & (col >= 0) & (col < width) & (row >= 0) & (row < height)
            seen = np.zeros(NUM_JOINTS, bool)
            seen[inside] = owner[row[inside], col[inside]] == i
            if not seen.any():
                continue
            kp[~seen] = 0.0
            people.append({"track_id": i + 1,
                           "keypoints": [round(float(v), 3) for v in kp.reshape(-1)],
                           "box": [float(v) for v in placed[i]]})
        frames.append(frame)
        gt_frames.append({"frame": f, "people": people})

    gt = {
        "width": width, "height": height, "fps": float(fps), "num_frames": num_frames,
        "seed": seed, "schema": "coco",
        "keypoint_names": coco["categories"][0]["keypoints"],
        "frames": gt_frames,
        "tracks": [{"track_id": i + 1, "image_id": a["image_id"], "annotation_id": a["id"],
                    "file_name": files[a["image_id"]], "patch": boxes[i],
                    "positions": pos[:, i].tolist()}
                   for i, a in enumerate(anns)],
        "forced_occlusions": [{"track_id": 4, "frames": hidden}],
        "pillar": pillar,
        "background": bg_file,
    }
    return frames, gt


def make_sequence(out_dir, num_frames=72, seed=0, return_frames=False, **kwargs):
    """Render the clip and write ``sequence.mp4`` and ``ground_truth.json``.

    Parameters
    ----------
    out_dir : str or None
        Output folder (created); ``None`` writes nothing.
    num_frames, seed : int
        See :func:`render_sequence`.
    return_frames : bool
        Also return the rendered frames, before video compression.
    **kwargs
        Passed to :func:`render_sequence`.

    Returns
    -------
    dict or (dict, list of numpy.ndarray)
        The ground truth, and the frames when ``return_frames``.
    """
    from gluonpose.utils.atomic import atomic_path, write_json
    frames, gt = render_sequence(num_frames=num_frames, seed=seed, **kwargs)
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "sequence.mp4")
        # written under a temporary name and renamed: no half-written video on a failure
        with atomic_path(path) as tmp:
            writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), gt["fps"],
                                     (gt["width"], gt["height"]))
            if not writer.isOpened():
                raise RuntimeError("OpenCV cannot write %s with the mp4v codec" % path)
            try:
                for frame in frames:
                    writer.write(frame)
            finally:
                writer.release()
        write_json(os.path.join(out_dir, "ground_truth.json"), gt)
    return (gt, frames) if return_frames else gt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="folder for sequence.mp4 and ground_truth.json")
    parser.add_argument("--frames", type=int, default=72, help="number of frames")
    parser.add_argument("--seed", type=int, default=0, help="chooses people and background")
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--height", type=int, default=288)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--occlusion-frames", type=int, default=None,
                        help="frames track 4 is fully hidden (default frames // 6)")
    args = parser.parse_args(argv)
    gt = make_sequence(args.out_dir, num_frames=args.frames, seed=args.seed, width=args.width,
                       height=args.height, fps=args.fps, occlusion_frames=args.occlusion_frames)
    n = sum(len(f["people"]) for f in gt["frames"])
    print("wrote %d frames, %d person instances to %s" % (gt["num_frames"], n, args.out_dir))


if __name__ == "__main__":
    main()
