"""Plain loop-for-loop reference of the Associative Embedding parser (the test oracle).

Written straight from the algorithm description (docs fact sheet, section
2.4, in the project's coordinate convention: no ``+0.5`` on decoded cells),
one cell, candidate and person at a time: peaks by comparing every cell with
its 8 neighbours, candidates sorted as Python tuples, the cost matrix filled
entry by entry, people kept as a list of dicts. Only two steps use library
calls: the minimum-cost assignment (``scipy.optimize.linear_sum_assignment``,
the step the algorithm names) and, in the refinement, the argmax over a whole
map (a numpy expression per person and joint type; a Python loop over every
cell of every map for every person would take minutes per image).
:class:`gluonpose.codecs.ae.AECodec` must return the same people and scores,
and ``bench/bench_ae_parser.py`` times the two.

Nothing is imported from :mod:`gluonpose.codecs.ae`: a transcription slip in
the codec shows up as a disagreement.
"""
import math

import numpy as np

ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]


def find_peaks_ref(det_list, h, w, threshold, top_k):
    """Per joint type: ``[(value, x, y), ...]`` sorted by value desc, then row-major.

    A cell is a peak when it is >= each of its (up to 8) neighbours. Peaks are
    sorted, the first ``top_k`` taken, then the ones > ``threshold`` kept (the
    reference's top-k-then-threshold order; for ``threshold >= 0`` the zeroed
    non-peaks it also ranks never pass).
    """
    out = []
    for rows in det_list:
        peaks = []
        for y in range(h):
            for x in range(w):
                v = rows[y][x]
                if v <= threshold:
                    continue            # cannot pass the threshold: skip the 8 comparisons
                is_max = True
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        yy, xx = y + dy, x + dx
                        if (dy or dx) and 0 <= yy < h and 0 <= xx < w and rows[yy][xx] > v:
                            is_max = False
                if is_max:
                    peaks.append((-v, y * w + x, x, y))
        peaks.sort()
        out.append([(-nv, x, y) for nv, _, x, y in peaks[:top_k] if -nv > threshold])
    return out


def _norm(a, b):
    s = 0.0
    for u, v in zip(a, b):
        s += (u - v) * (u - v)
    return math.sqrt(s)


def _quarter(rows, x, y, h, w):
    """Quarter-cell shift toward the larger neighbour, x then y (edges clamp, a tie stays)."""
    def step(more, less):
        if more > less:
            return 0.25
        if more < less:
            return -0.25
        return 0.0
    ox = step(rows[y][min(x + 1, w - 1)], rows[y][max(x - 1, 0)])
    oy = step(rows[min(y + 1, h - 1)][x], rows[max(y - 1, 0)][x])
    return ox, oy


def parse_ref(det, tags, detection_threshold=0.1, tag_threshold=1.0, top_k=30,
              max_people=30, use_detection_val=True, ignore_too_much=True, refine=True,
              adjust=True, joint_order=ORDER):
    """Reference parse of ``det (K, h, w)`` and ``tags (K, h, w, D)``.

    Returns ``(keypoints (N, K, 3) float32 in map cells, scores (N,) float32)``.
    """
    from scipy.optimize import linear_sum_assignment
    det = np.asarray(det, np.float64)
    tags = np.asarray(tags, np.float64)
    if tags.ndim == 3:
        tags = tags[..., None]
    num_joints, h, w = det.shape
    det_list = det.tolist()
    tag_list = tags.tolist()
    peaks = find_peaks_ref(det_list, h, w, detection_threshold, top_k)

    people = []        # each: {'joints': {k: (x, y, value, tag)}, 'tags': [tag, ...]}
    for k in joint_order:
        cands = [(x, y, v, tag_list[k][y][x]) for v, x, y in peaks[k]]
        if not cands:
            continue
        if not people:
            for c in cands:
                people.append({"joints": {k: c}, "tags": [c[3]]})
            continue
        grouped = people[:max_people]
        if ignore_too_much and len(grouped) == max_people:
            continue
        means = []
        for person in grouped:
            dim = len(person["tags"][0])
            mean = [0.0] * dim
            for t in person["tags"]:
                for d in range(dim):
                    mean[d] += t[d]
            means.append([m / len(person["tags"]) for m in mean])
        n_c, n_p = len(cands), len(grouped)
        dist = [[_norm(c[3], means[p]) for p in range(n_p)] for c in cands]
        # more candidates than people: pad with 1e10 columns to a square
        cost = np.zeros((n_c, max(n_c, n_p)))
        for i in range(n_c):
            for p in range(cost.shape[1]):
                if p >= n_p:
                    cost[i, p] = 1e10
                elif use_detection_val:
                    cost[i, p] = round(dist[i][p]) * 100 - cands[i][2]
                else:
                    cost[i, p] = dist[i][p]
        rows, cols = linear_sum_assignment(cost)
        for i, p in zip(rows.tolist(), cols.tolist()):
            c = cands[i]
            if p < n_p and dist[i][p] < tag_threshold:
                grouped[p]["joints"][k] = c
                grouped[p]["tags"].append(c[3])
            else:
                people.append({"joints": {k: c}, "tags": [c[3]]})

    kps, scores = [], []
    for person in people:
        kp = [[0.0, 0.0, 0.0] for _ in range(num_joints)]
        total = 0.0
        for k, (x, y, v, _) in person["joints"].items():
            kp[k] = [float(x), float(y), v]
        for k in range(num_joints):
            total += kp[k][2]
        scores.append(total / num_joints)
        if adjust:
            for k, (x, y, v, _) in person["joints"].items():
                ox, oy = _quarter(det_list[k], x, y, h, w)
                kp[k][0] += ox
                kp[k][1] += oy
        if refine:
            found = [k for k in range(num_joints) if k in person["joints"]]
            dim = tags.shape[3]
            mean = [0.0] * dim
            for k in found:
                for d in range(dim):
                    mean[d] += person["joints"][k][3][d]
            mean = [m / len(found) for m in mean]
            for k in range(num_joints):
                if k in person["joints"]:
                    continue
                diff = tags[k] - np.array(mean)[None, None, :]
                dist_map = np.sqrt((diff ** 2).sum(axis=2))
                idx = int(np.argmax(det[k] - np.round(dist_map)))
                y, x = idx // w, idx % w
                if det_list[k][y][x] > 0:
                    fx, fy = float(x), float(y)
                    if adjust:
                        ox, oy = _quarter(det_list[k], x, y, h, w)
                        fx, fy = fx + ox, fy + oy
                    kp[k] = [fx, fy, 1.0]
        kps.append(kp)
    return (np.array(kps, np.float32).reshape(-1, num_joints, 3),
            np.array(scores, np.float32))


def synthetic_maps(num_people, size=(64, 64), num_joints=17, seed=0, noise=0.05, tag_dim=1,
                   drop=0.2, distractors=1):
    """Random detection and tag maps of ``num_people`` people, plus distractors.

    Each person has each joint type with probability ``1 - drop`` as a
    Gaussian bump (sigma 1.5 cells, random height in [0.3, 1]) at a random
    cell, with tags ``1.5 n + N(0, 0.1)`` (per person) ``+ noise * N(0, 1)``
    (per cell) where the bump exceeds 0.05. Every joint type also gets
    ``distractors`` low bumps (height in [0.12, 0.35]) with random tags, and
    the background is uniform noise below 0.08 with random tags, so NMS, the
    thresholds, new people and the refinement all have work. Returns
    ``(det (K, h, w) float32, tags (K, h, w, D) float32)``.
    """
    rng = np.random.RandomState(seed)
    h, w = size
    det = rng.uniform(0, 0.08, (num_joints, h, w))
    tags = rng.normal(0, 3, (num_joints, h, w, tag_dim))
    yy, xx = np.mgrid[0:h, 0:w]

    def bump(k, height, tag):
        cx, cy = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
        g = height * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 1.5 ** 2))
        det[k] = np.maximum(det[k], g)
        near = g > 0.05
        tags[k][near] = tag + noise * rng.normal(0, 1, (near.sum(), tag_dim))

    for n in range(num_people):
        base = rng.normal(0, 0.1, tag_dim) + 1.5 * n
        for k in range(num_joints):
            if rng.rand() >= drop:
                bump(k, rng.uniform(0.3, 1.0), base)
    for k in range(num_joints):
        for _ in range(distractors):
            bump(k, rng.uniform(0.12, 0.35), rng.normal(0, 10, tag_dim))
    return det.astype(np.float32), tags.astype(np.float32)
