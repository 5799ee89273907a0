"""Associative Embedding parser: the vectorised codec vs the loop-for-loop reference.

What is timed, per image: ``AECodec.decode`` (numpy NMS and top-k over all
17 maps at once, one distance/cost matrix and one
``linear_sum_assignment`` per joint type, refinement per joint type over all
people missing it) against ``tests/_ae_reference.py:parse_ref`` (peaks by
comparing cells with their 8 neighbours in Python, cost matrices filled
entry by entry, people as dicts, refinement one person and joint at a
time), from the same maps.

Data: ground-truth detection maps and ideal tags (``AECodec.ideal_tags``) of
synthetic crowds of 1, 5, 10 and 20 people in a 512 x 512 input (128 x 128
maps, D = 1), each joint labelled with probability 0.8 so the refinement has
joints to fill, plus Gaussian tag noise of std 0.1. Both sides must return
the same people (checked before timing). Timing is interleaved (codec,
reference, per image, round after round); each figure is the median over
rounds of ms per image. ``run(args) -> str`` returns a markdown section;
``python bench/bench_ae_parser.py [--quick]`` prints it.
"""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench._common import bench_main, machine_line  # noqa: E402

INPUT = 512
PEOPLE = (1, 5, 10, 20)
IMAGES = 3                 # synthetic images per crowd size


def _log(msg):
    print("   " + msg, file=sys.stderr, flush=True)


def synthetic_people(n, size=INPUT, seed=0):
    """``(n, 17, 3)`` people: a random centre and scale each, joints around it."""
    rng = np.random.RandomState(seed)
    # a rough standing-person template (x, y in person heights, centre at the hips)
    tmpl = np.array([[0, -.42], [-.03, -.45], [.03, -.45], [-.06, -.43], [.06, -.43],
                     [-.12, -.3], [.12, -.3], [-.16, -.15], [.16, -.15], [-.18, 0], [.18, 0],
                     [-.08, 0], [.08, 0], [-.08, .22], [.08, .22], [-.08, .45], [.08, .45]])
    j = np.zeros((n, 17, 3))
    for p in range(n):
        height = rng.uniform(80, 300)
        centre = rng.uniform(height / 2, size - height / 2, 2)
        j[p, :, :2] = centre + height * tmpl + rng.normal(0, 3, (17, 2))
        j[p, :, 2] = 2 * (rng.rand(17) < 0.8)
    return j


def _maps(codec, n, seed):
    joints = synthetic_people(n, seed=seed)
    det, _, _ = codec.encode(joints, (INPUT, INPUT))
    tags = codec.ideal_tags(joints, (INPUT, INPUT))
    tags = tags + np.random.RandomState(seed).normal(0, 0.1, tags.shape).astype(np.float32)
    return det, tags[..., None]


def _ms(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def run(args=None):
    """Run the benchmark; returns a markdown section.

    Parameters
    ----------
    args : argparse.Namespace or dict, optional
        ``quick`` (bool): 3 rounds instead of 11.
    """
    import _ae_reference as ref
    from gluonpose.codecs import AECodec
    quick = bool(args.get("quick") if isinstance(args, dict) else getattr(args, "quick", False))
    rounds = 3 if quick else 11
    codec = AECodec()
    rows, ratios = [], []
    for n in PEOPLE:
        jobs, found = [], []
        for i in range(IMAGES):
            det, tags = _maps(codec, n, seed=100 * n + i)
            ours, theirs = codec.decode(det, tags), ref.parse_ref(det, tags)
            # same answer first: otherwise the timing compares different work
            if ours[0].shape != theirs[0].shape or not (
                    np.allclose(ours[0], theirs[0], atol=1e-5)
                    and np.allclose(ours[1], theirs[1], atol=1e-6)):
                raise AssertionError("codec and reference disagree; fix that before timing")
            found.append(len(ours[0]))
            jobs.append((lambda d=det, t=tags: codec.decode(d, t),
                         lambda d=det, t=tags: ref.parse_ref(d, t)))
        times = np.zeros((len(jobs), 2, rounds))
        for r in range(rounds):
            for i, job in enumerate(jobs):
                for k in range(2):
                    times[i, k, r] = _ms(job[k])
        med = np.median(times, axis=2)                   # (images, 2)
        ours, theirs = np.median(med[:, 0]), np.median(med[:, 1])
        ratio = med[:, 1].sum() / med[:, 0].sum()
        ratios.append(ratio)
        rows.append("| %d | %.1f | %.2f | %.2f | **%.1fx** |"
                    % (n, np.mean(found), ours, theirs, ratio))
        _log("%d people: codec %.2f ms, reference %.2f ms, %.1fx" % (n, ours, theirs, ratio))
    ok = min(ratios) > 1.0
    lines = [
        "## AE parser: vectorised codec vs loop reference (`bench/bench_ae_parser.py`)",
        "",
        "`AECodec.decode` (numpy NMS/top-k over the 17 maps at once, per joint type one "
        "distance matrix and one `linear_sum_assignment`, refinement per joint type over the "
        "people missing it) against the plain loop reference `tests/_ae_reference.py` "
        "(8-neighbour peak test per cell, cost matrices entry by entry, people as dicts, "
        "refinement per person and joint), on ground-truth 128 x 128 maps with ideal tags "
        "(+ N(0, 0.1) noise) of synthetic crowds in a 512 x 512 input, %d images per size, "
        "80%% of the joints labelled; both return the same people (checked first). "
        "Milliseconds per image, median of %d interleaved rounds%s; the ratio is the "
        "reference's summed per-image time over the codec's."
        % (IMAGES, rounds, " (quick mode: a smoke run, not a measurement)" if quick else ""),
        "",
        "| people | people found (mean) | codec ms/image | reference ms/image | ratio |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ] + rows + [
        "",
        "Codec faster than the reference at every size: **%s** (lowest %.1fx)."
        % ("met" if ok else "MISSED", min(ratios)),
        "",
        machine_line(),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    return bench_main(run, __doc__, "3 rounds (smoke run)", argv)


if __name__ == "__main__":
    sys.exit(main())
