#!/usr/bin/env python
"""Oracle AP of the Associative Embedding codec: ground-truth maps and ideal tags in, COCO AP out.

For every image of the bundled mini COCO set (``person_keypoints_train2017``,
read with :class:`~gluonpose.data.mscoco.bottom_up.COCOBottomUp` in its AE
setting: every non-crowd person with a labelled keypoint), the people are
mapped into the letter-boxed network input (longer side ``--size``, padded
right/bottom to a multiple of 64, :func:`~gluonpose.codecs.ae.ae_input_geometry`),
encoded into detection heatmaps with :class:`~gluonpose.codecs.ae.AECodec`
and given *ideal tags* (:meth:`AECodec.ideal_tags`: the tag of joint type
``k`` at a cell is ``n + 1`` where person ``n``'s Gaussian is the largest, 0
elsewhere), parsed (NMS, top-k, tag matching, adjust, refine), mapped back
to the image and scored with pycocotools' ``COCOeval`` (keypoints, OKS)
against the same annotations. No network, no boxes: the ceiling the
representation and the parser put on a perfect network.

On the bundled set the figure is 0.939 at input 512 (0.959 at 768), not
1: the grouping with ideal tags is right (every annotated person comes back),
the loss is localisation. A map cell is 3 image pixels at 512 for these
384-pixel images, and the OKS of the smallest people (area ~400 px) drops
below 0.9 for a one-pixel error on a face joint; decoded joints are only
quarter-cell accurate. With integer annotations many joints fall exactly on
a cell, where the Gaussian's neighbours are equal and the reference's
adjustment rule (right neighbour larger: +1/4, otherwise -1/4) moves them a
quarter cell left/up (a rule that left ties in place would give 0.958). A
few joints of one type closer than a cell to another person's are covered
by the other Gaussian; the refinement then puts them on the neighbouring
person (ideal tags differ by 1 there).

Then Gaussian noise of standard deviation ``t`` (independent per cell) is
added to the tag maps, for a curve of AP against tag noise
(:func:`oracle_curve`); the parser joins a joint to a person when their tag
distance is below 1, so the AP falls as ``t`` approaches the spacing of the
ideal tags (1).

Usage (from the repository root)::

    python tools/ae_oracle_ap.py                  # input 512, the default noise levels
    python tools/ae_oracle_ap.py --size 256 --noise 0 --noise 0.5
"""
import argparse
import contextlib
import io
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from gluonpose.codecs.ae import AECodec, ae_input_geometry  # noqa: E402
from gluonpose.data import MINI_COCO_SPLIT, mini_coco_bottom_up, mini_coco_root  # noqa: E402

#: tag noise levels of the default curve
NOISE_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)

#: COCO person keypoint OKS sigmas (pycocotools' defaults)
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                        .87, .87, .89, .89]) / 10.0


def protocol(input_size, name="coco_mini train2017"):
    """The protocol line of an oracle figure."""
    return ("ground-truth heatmaps + ideal tags, no network, bottom-up, no boxes, single scale, "
            "no flip, input %d (longer side, letter-boxed, padded to 64), %s"
            % (input_size, name))


def load_coco():
    """pycocotools ``COCO`` of the bundled annotations, quietly."""
    from pycocotools.coco import COCO
    ann = os.path.join(mini_coco_root(), "annotations", MINI_COCO_SPLIT + ".json")
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(ann)


def oracle_maps(input_size=512, codec=None, dataset=None):
    """Ground-truth maps of every bundled image with people.

    Returns
    -------
    list of tuple
        ``(image_id, multiplier, det (K, h, w), ideal tags (K, h, w))``.
    """
    codec = codec or AECodec()
    dataset = dataset or mini_coco_bottom_up(min_keypoints=1, min_area=0, mask_dropped=False)
    out = []
    for idx, rec in enumerate(dataset.records):
        joints = np.array(rec["joints"], np.float64)
        m, padded = ae_input_geometry(dataset.image_size(idx), input_size)
        joints[..., :2] *= m                       # image pixel -> input pixel (pure scale)
        det, _, _ = codec.encode(joints, padded)
        out.append((int(rec["image_id"]), m, det, codec.ideal_tags(joints, padded)))
    return out


def predict(maps, noise=0.0, seed=0, codec=None):
    """Parse every image's maps (tags with Gaussian noise of std ``noise``); COCO results."""
    codec = codec or AECodec()
    rng = np.random.RandomState(seed)
    results = []
    for image_id, m, det, tags in maps:
        if noise > 0:
            tags = tags + rng.normal(0.0, noise, tags.shape).astype(np.float32)
        kps, scores = codec.decode(det, tags[..., None])
        kps = codec.to_image(kps, m, fill_missing=True)
        for kp, score in zip(kps, scores):
            results.append({"image_id": image_id, "category_id": 1,
                            "keypoints": [round(float(v), 3) for v in kp.reshape(-1)],
                            "score": float(score)})
    return results


def evaluate(coco, results):
    """COCOeval keypoint stats (10 numbers, AP first) of ``results``."""
    from pycocotools.cocoeval import COCOeval
    if not results:
        return np.zeros(10)
    with contextlib.redirect_stdout(io.StringIO()):
        dets = coco.loadRes(results)
        ev = COCOeval(coco, dets, "keypoints")
        ev.params.kpt_oks_sigmas = COCO_SIGMAS
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def oracle_curve(noise_levels=NOISE_LEVELS, input_size=512, seed=0, codec=None):
    """AP of the AE oracle against the standard deviation of Gaussian tag noise.

    Parameters
    ----------
    noise_levels : sequence of float
        Standard deviations ``t`` of the noise added to the ideal tags.
    input_size : int
        Longer side of the letter-boxed input.
    seed : int
        Seed of the noise (one generator per level, so levels are independent
        of their order).
    codec : AECodec, optional
        The parser settings (default ``AECodec()``: the reference's test
        thresholds).

    Returns
    -------
    list of (float, float)
        ``(t, AP)`` per level.
    """
    coco = load_coco()
    maps = oracle_maps(input_size, codec)
    return [(float(t), float(evaluate(coco, predict(maps, t, seed, codec))[0]))
            for t in noise_levels]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="input longer side (512)")
    parser.add_argument("--noise", type=float, action="append",
                        help="tag noise std (repeatable; default %s)"
                        % ", ".join("%g" % t for t in NOISE_LEVELS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    levels = args.noise if args.noise else NOISE_LEVELS
    coco = load_coco()
    maps = oracle_maps(args.size)
    for t in levels:
        st = evaluate(coco, predict(maps, t, args.seed))
        if t == 0:
            print("AE oracle AP %.3f [%s]" % (st[0], protocol(args.size)))
            print("    AP50 %.3f  AP75 %.3f  APM %.3f  APL %.3f  AR %.3f"
                  % (st[1], st[2], st[3], st[4], st[5]))
        else:
            print("AE oracle AP %.3f with tag noise std %g [same protocol]" % (st[0], t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
