"""Plain loop-for-loop reference of the OpenPose PAF codec (the test oracle).

Written straight from the algorithm description (docs fact sheet, OpenPose
section: targets and inference steps 3-7), one candidate pair and one sample
point at a time, with the people kept as a list of rows that is scanned in
full for every connection and shrunk with ``pop`` on a merge. Nothing here is
vectorised on purpose: :mod:`gluonpose.codecs.paf` must give the same people
and scores as this, and ``bench/bench_paf_grouping.py`` times the two.

The encoder reference visits every (person, part, cell) and (person, limb,
cell) of the map; use it on small maps only.

Constants are restated here rather than imported, so a transcription slip in
the codec shows up as a disagreement.
"""
import math

import numpy as np

# OpenPose-18 part -> COCO-17 source index (-1: neck, from the shoulders)
OP_FROM_COCO = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3]
# COCO-17 keypoint k <- OpenPose part
COCO_FROM_OP = [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10]
# PAF plane p (channels 2p, 2p+1): limb from -> to
LIMBS = [(1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13), (1, 2), (2, 3), (3, 4),
         (2, 16), (1, 5), (5, 6), (6, 7), (5, 17), (1, 0), (0, 14), (0, 15), (14, 16), (15, 17)]
# decoding order: (from, to, x channel, y channel)
ORDER = [(1, 2, 12, 13), (1, 5, 20, 21), (2, 3, 14, 15), (3, 4, 16, 17), (5, 6, 22, 23),
         (6, 7, 24, 25), (1, 8, 0, 1), (8, 9, 2, 3), (9, 10, 4, 5), (1, 11, 6, 7),
         (11, 12, 8, 9), (12, 13, 10, 11), (1, 0, 28, 29), (0, 14, 30, 31), (14, 16, 34, 35),
         (0, 15, 32, 33), (15, 17, 36, 37), (2, 16, 18, 19), (5, 17, 26, 27)]


# ----------------------------------------------------------------------------- encoding

def coco_to_openpose_ref(joints):
    """(P, 17, 3) COCO -> (P, 18, 3) OpenPose, one value at a time."""
    out = []
    for person in joints:
        row = []
        for src in OP_FROM_COCO:
            if src >= 0:
                row.append([float(person[src][0]), float(person[src][1]), float(person[src][2])])
            else:
                ls, rs = person[5], person[6]
                if ls[2] > 0 and rs[2] > 0:
                    row.append([(float(ls[0]) + float(rs[0])) / 2,
                                (float(ls[1]) + float(rs[1])) / 2,
                                min(float(ls[2]), float(rs[2]))])
                else:
                    row.append([0.0, 0.0, 0.0])
        out.append(row)
    return np.array(out, dtype=np.float64).reshape(-1, 18, 3)


def encode_ref(joints, input_size, stride=8, sigma=7.0, limb_width=1.0, paf_offset=0.0):
    """Targets cell by cell. ``joints``: (P, 17, 3) COCO or (P, 18, 3) OpenPose."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape[1] == 17:
        joints = coco_to_openpose_ref(joints)
    h = -(-input_size[0] // stride)
    w = -(-input_size[1] // stride)
    heat = np.zeros((19, h, w))
    start = stride / 2.0 - 0.5
    for person in joints:
        for j in range(18):
            x, y, v = person[j]
            if v <= 0:
                continue
            for gy in range(h):
                for gx in range(w):
                    dx = start + gx * stride - x
                    dy = start + gy * stride - y
                    e = (dx * dx + dy * dy) / (2.0 * sigma * sigma)
                    if e <= 4.6052:
                        heat[j, gy, gx] += math.exp(-e)
    for j in range(18):
        for gy in range(h):
            for gx in range(w):
                if heat[j, gy, gx] > 1.0:
                    heat[j, gy, gx] = 1.0
    for gy in range(h):
        for gx in range(w):
            heat[18, gy, gx] = max(0.0, 1.0 - max(heat[j, gy, gx] for j in range(18)))

    paf = np.zeros((38, h, w))
    for p, (a, b) in enumerate(LIMBS):
        count = np.zeros((h, w))
        for person in joints:
            if person[a][2] <= 0 or person[b][2] <= 0:
                continue
            ax, ay = (person[a][0] - paf_offset) / stride, (person[a][1] - paf_offset) / stride
            bx, by = (person[b][0] - paf_offset) / stride, (person[b][1] - paf_offset) / stride
            norm = math.sqrt((bx - ax) ** 2 + (by - ay) ** 2)
            if norm <= 1e-8:
                continue
            ux, uy = (bx - ax) / norm, (by - ay) / norm
            for gy in range(h):
                for gx in range(w):
                    in_box = (min(ax, bx) - limb_width <= gx <= max(ax, bx) + limb_width
                              and min(ay, by) - limb_width <= gy <= max(ay, by) + limb_width)
                    if not in_box:
                        continue
                    if abs((gx - ax) * uy - (gy - ay) * ux) > limb_width:
                        continue
                    # running average of the people covering this cell
                    c = count[gy, gx]
                    paf[2 * p, gy, gx] = (paf[2 * p, gy, gx] * c + ux) / (c + 1)
                    paf[2 * p + 1, gy, gx] = (paf[2 * p + 1, gy, gx] * c + uy) / (c + 1)
                    count[gy, gx] = c + 1
    return heat.astype(np.float32), paf.astype(np.float32)


# ----------------------------------------------------------------------------- decoding

def _blur(plane, sigma, smoothing):
    if smoothing == "scipy":
        from scipy.ndimage import gaussian_filter
        return gaussian_filter(plane, sigma=sigma)
    import cv2
    k = 2 * int(4 * sigma + 0.5) + 1
    return cv2.GaussianBlur(np.ascontiguousarray(plane), (k, k), sigma,
                            borderType=cv2.BORDER_REFLECT)


def find_peaks_ref(heat, threshold=0.1, sigma=3.0, smoothing="scipy"):
    """Per part: blur, compare with the 4 neighbours (0 outside), list the peaks.

    Returns ``all_peaks``: for each of the 18 parts a list of
    ``(x, y, score, id)`` with running ids.
    """
    all_peaks, next_id = [], 0
    for j in range(18):
        raw = heat[j]
        sm = _blur(raw, sigma, smoothing)
        left = np.zeros(sm.shape, sm.dtype)
        left[:, 1:] = sm[:, :-1]
        right = np.zeros(sm.shape, sm.dtype)
        right[:, :-1] = sm[:, 1:]
        up = np.zeros(sm.shape, sm.dtype)
        up[1:, :] = sm[:-1, :]
        down = np.zeros(sm.shape, sm.dtype)
        down[:-1, :] = sm[1:, :]
        is_peak = (sm >= left) & (sm >= right) & (sm >= up) & (sm >= down) & (sm > threshold)
        ys, xs = np.nonzero(is_peak)
        peaks = []
        for y, x in zip(ys.tolist(), xs.tolist()):
            peaks.append((x, y, float(raw[y, x]), next_id))
            next_id += 1
        all_peaks.append(peaks)
    return all_peaks


def group_ref(paf, all_peaks, height, paf_threshold=0.05, num_samples=10,
              min_fraction=0.8, min_parts=4, min_mean_score=0.4, stats=None):
    """Steps 4-7: score pairs, greedy matching, assembly, filters.

    Returns the surviving people as rows of 18 peak ids (-1 missing) followed
    by the total score and the part count. ``stats``, a dict, counts which
    assembly branches ran ('new', 'attach', 'same', 'merge', 'overlap',
    'replace').
    """
    stats = {} if stats is None else stats

    def count(what):
        stats[what] = stats.get(what, 0) + 1

    connections = []
    for k, (a, b, cx, cy) in enumerate(ORDER):
        cand_a, cand_b = all_peaks[a], all_peaks[b]
        scored = []
        for i in range(len(cand_a)):
            for j in range(len(cand_b)):
                ax, ay = cand_a[i][0], cand_a[i][1]
                bx, by = cand_b[j][0], cand_b[j][1]
                vx, vy = bx - ax, by - ay
                norm = math.sqrt(vx * vx + vy * vy)
                if norm == 0:
                    continue
                ux, uy = vx / norm, vy / norm
                dots = []
                for s in range(num_samples):
                    px = int(round(ax + vx * s / (num_samples - 1)))
                    py = int(round(ay + vy * s / (num_samples - 1)))
                    dots.append(float(paf[cx, py, px]) * ux + float(paf[cy, py, px]) * uy)
                total = 0.0
                for d in dots:
                    total += d
                score = total / num_samples + min(0.5 * height / norm - 1, 0)
                support = 0
                for d in dots:
                    if d > paf_threshold:
                        support += 1
                if support > min_fraction * num_samples and score > 0:
                    scored.append((i, j, score))
        scored = sorted(scored, key=lambda c: c[2], reverse=True)
        chosen, used_a, used_b = [], [], []
        for i, j, score in scored:
            if i not in used_a and j not in used_b:
                chosen.append((cand_a[i][3], cand_b[j][3], score))
                used_a.append(i)
                used_b.append(j)
                if len(chosen) >= min(len(cand_a), len(cand_b)):
                    break
        connections.append(chosen)

    score_of = {}
    for peaks in all_peaks:
        for x, y, sc, pid in peaks:
            score_of[pid] = sc
    people = []                                # each: 18 ids, then total, then count
    for k, (a, b, _, _) in enumerate(ORDER):
        for id_a, id_b, score in connections[k]:
            found = []
            for n, row in enumerate(people):
                if row[a] == id_a or row[b] == id_b:
                    found.append(n)
            disjoint = False
            if len(found) >= 2:
                r1, r2 = people[found[0]], people[found[1]]
                disjoint = True
                for p in range(18):
                    if r1[p] >= 0 and r2[p] >= 0:
                        disjoint = False
            if len(found) >= 2 and disjoint:
                count("merge")
                r1, r2 = people[found[0]], people[found[1]]
                for p in range(18):
                    r1[p] += r2[p] + 1
                r1[18] += r2[18]
                r1[19] += r2[19]
                r1[18] += score
                people.pop(found[1])
            elif len(found) >= 1:
                if len(found) >= 2:
                    count("overlap")
                row = people[found[0]]
                if row[b] != id_b:
                    count("replace" if row[b] >= 0 else "attach")
                    row[b] = id_b
                    row[19] += 1
                    row[18] += score_of[id_b] + score
            elif k < 17:
                count("new")
                row = [-1] * 18 + [0.0, 0]
                row[a] = id_a
                row[b] = id_b
                row[19] = 2
                row[18] = score_of[id_a] + score_of[id_b] + score
                people.append(row)
    kept = []
    for row in people:
        if row[19] < min_parts or row[18] / row[19] < min_mean_score:
            continue
        kept.append(row)
    return kept


def decode_ref(heat, paf, threshold=0.1, sigma=3.0, smoothing="scipy", order="coco", **kwargs):
    """Maps at decoding resolution -> (keypoints (N, 17|18, 3), scores (N,)).

    ``kwargs`` go to :func:`group_ref`.
    """
    all_peaks = find_peaks_ref(heat, threshold, sigma, smoothing)
    where = {}
    for peaks in all_peaks:
        for x, y, sc, pid in peaks:
            where[pid] = (x, y, sc)
    people = group_ref(paf, all_peaks, heat.shape[1], **kwargs)
    keypoints, scores = [], []
    for row in people:
        kp = []
        for p in range(18):
            if row[p] >= 0:
                kp.append(list(where[row[p]]))
            else:
                kp.append([0.0, 0.0, 0.0])
        if order == "coco":
            kp = [kp[COCO_FROM_OP[c]] for c in range(17)]
        keypoints.append(kp)
        scores.append(row[18])
    n = 17 if order == "coco" else 18
    return (np.array(keypoints, np.float32).reshape(-1, n, 3), np.array(scores, np.float32))


# ----------------------------------------------------------------------------- synthetic people

#: A standing person facing the camera, COCO-17 order, about 145 px tall,
#: centred on the origin (facing the camera: the person's left joints, odd
#: COCO indices, are on the image's right).
TEMPLATE = np.array([[50, 20], [54, 16], [46, 16], [58, 18], [42, 18], [64, 36], [36, 36],
                     [70, 60], [30, 60], [72, 84], [28, 84], [60, 90], [40, 90], [62, 125],
                     [38, 125], [63, 160], [37, 160]], dtype=np.float64) - [50.0, 88.0]


def synthetic_people(n, size, seed=0, scale=(0.35, 0.9), jitter=3.0, drop=0.1):
    """``n`` jittered copies of :data:`TEMPLATE` at random places of an ``(H, W)`` input.

    Returns ``(n, 17, 3)`` COCO keypoints (visibility 2, or 0 for a fraction
    ``drop`` of the joints), people may overlap (a crowd).
    """
    rs = np.random.RandomState(seed)
    out = []
    for _ in range(n):
        s = rs.uniform(*scale)
        centre = rs.uniform([0.1 * size[1], 0.2 * size[0]], [0.9 * size[1], 0.8 * size[0]])
        xy = TEMPLATE * s * [rs.choice([-1, 1]), 1] + centre + rs.randn(17, 2) * jitter * s
        vis = np.where(rs.rand(17) < drop, 0.0, 2.0)
        out.append(np.concatenate([xy, vis[:, None]], axis=1))
    return np.array(out, dtype=np.float64).reshape(n, 17, 3)
