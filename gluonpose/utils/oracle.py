"""Oracle AP: the COCO keypoint AP a perfect network would reach through a codec.

For every ground-truth instance of a keypoint dataset the validation crop
(centre/scale from the GT box, GluonCV's conventions) is computed, the GT
joints are mapped into the crop, encoded into heatmaps with the codec,
decoded back to image coordinates and scored with pycocotools' ``COCOeval``
(``'keypoints'``, the schema's OKS sigmas). The figure is the ceiling the
representation itself puts on any model trained with it: quantisation (MSRA
rounds the Gaussian centre to the heatmap grid) shows up directly.

Every result carries its protocol record (box source, flip, codec, sizes,
split, instance count) and prints as one line, e.g.::

    oracle AP 0.981 [gt boxes, no flip, codec=msra(sigma=2), input 256x192,
    heatmap 64x48, split=coco_mini/person_keypoints_train2017]

Run ``python -m gluonpose.utils.oracle`` for both codecs on the bundled set.
This is evaluation, not codec maths, so it lives above :mod:`gluonpose.data`
(it reads datasets and scores with pycocotools), not in :mod:`gluonpose.codecs`.
"""
import argparse
import contextlib
import io
import os
import sys
import tempfile
from collections import OrderedDict

import numpy as np

from ..codecs import get_codec
from ..codecs.geometry import affine_transform_points, boxes_to_center_scale, \
    get_affine_transform_batch
from ..data.schema import COCO_PERSON, get_schema
from .atomic import write_json

__all__ = ["oracle_ap", "OracleResult", "STAT_NAMES", "main"]

#: Names of the ten numbers ``COCOeval.summarize`` prints for keypoints, in order
#: (GluonCV's ``COCOKeyPointsMetric`` names).
STAT_NAMES = ("AP", "Ap .5", "AP .75", "AP (M)", "AP (L)",
              "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")


class OracleResult:
    """The outcome of :func:`oracle_ap`.

    Attributes
    ----------
    ap : float
        OKS AP (``stats['AP']``).
    stats : collections.OrderedDict
        The ten COCOeval numbers under :data:`STAT_NAMES`.
    protocol : dict
        How the number was obtained: ``boxes`` ('ground-truth'), ``flip``
        (False), ``codec``, ``input_size`` / ``heatmap_size`` (``'HxW'``),
        ``split``, ``instances``, ``oks_sigmas`` (schema name), ``metric``.
    results_file : str or None
        The COCO results json, when kept.
    """

    def __init__(self, stats, protocol, results_file=None):
        self.stats = stats
        self.ap = float(stats["AP"])
        self.protocol = protocol
        self.results_file = results_file

    def summary(self):
        """One printable line: the AP and its protocol."""
        p = self.protocol
        return ("oracle AP %.3f [gt boxes, %s, codec=%s, input %s, heatmap %s, split=%s]"
                % (self.ap, "flip" if p["flip"] else "no flip", p["codec"], p["input_size"],
                   p["heatmap_size"], p["split"]))

    def to_dict(self):
        """JSON-friendly ``{'ap', 'stats', 'protocol', 'summary'}``."""
        return {"ap": self.ap, "stats": dict(self.stats), "protocol": dict(self.protocol),
                "summary": self.summary()}

    __str__ = summary

    def __repr__(self):
        return "OracleResult(%s)" % self.summary()


# ----------------------------------------------------------------------------- records

def _dataset_records(dataset):
    """``(bboxes (N,4), joints (N,J,2), vis (N,J), image_ids (N,), scores (N,))``.

    Reads labels without decoding images when the dataset allows it
    (gluonpose's ``records``; GluonCV's ``_labels`` / ``_items``); otherwise
    falls back to indexing the dataset.
    """
    if hasattr(dataset, "records"):
        labels = list(dataset.records)
        ids = [lab["image_id"] for lab in labels]
    elif hasattr(dataset, "_labels") and hasattr(dataset, "_items"):
        labels = list(dataset._labels)
        # GluonCV: the image id is the numeric file name
        ids = [int(os.path.splitext(os.path.basename(p))[0]) for p in dataset._items]
    else:
        labels, ids = [], []
        for i in range(len(dataset)):
            _, lab, img_id = dataset[i]
            labels.append(lab)
            ids.append(img_id)
    keep = [i for i, lab in enumerate(labels)
            if lab.get("ann_id", 0) != -1 and np.asarray(lab["joints_3d"])[:, 0, 1].max() > 0]
    if not keep:
        raise ValueError("the dataset has no ground-truth instance with a visible joint")
    bboxes = np.array([np.asarray(labels[i]["bbox"], np.float64) for i in keep])
    j3d = np.stack([np.asarray(labels[i]["joints_3d"], np.float32) for i in keep])
    scores = np.array([float(labels[i].get("score", 1.0)) for i in keep])
    image_ids = np.array([int(ids[i]) for i in keep], np.int64)
    return bboxes, j3d[:, :, :2, 0], j3d[:, :, 0, 1], image_ids, scores


def _dataset_split_name(dataset, split):
    if split is not None:
        return split
    root = getattr(dataset, "_root", None)
    names = getattr(dataset, "_split_names", None) or getattr(dataset, "_splits", None)
    if isinstance(names, str):
        names = [names]
    if names and all(isinstance(n, str) for n in names):
        name = "+".join(names)
        if root:
            name = "%s/%s" % (os.path.basename(os.path.normpath(root)), name)
        return name
    return type(dataset).__name__


def _open_dataset(root, split):
    """gluonpose's COCOKeyPoints over ``root`` (one json in annotations/ if no split)."""
    from ..data.mscoco import COCOKeyPoints
    if split is None:
        jsons = sorted(f[:-5] for f in os.listdir(os.path.join(root, "annotations"))
                       if f.endswith(".json"))
        # several keypoint sets over the same images (the bundled set has COCO-17 and
        # Halpe-26): COCO's person keypoints are the default, as everywhere else
        person = [j for j in jsons if j.startswith("person_keypoints_")]
        if len(jsons) > 1 and len(person) == 1:
            jsons = person
        if len(jsons) != 1:
            raise ValueError("%s/annotations holds %d json files; pass split="
                             % (root, len(jsons)))
        split = jsons[0]
    return COCOKeyPoints(root, split)


# ----------------------------------------------------------------------------- oracle

def oracle_ap(dataset, codec="msra", image_size=(256, 192), heatmap_size=None, sigma=2,
              schema=None, split=None, in_vis_thresh=0.0, results_file=None, batch_size=128,
              verbose=False):
    """Oracle OKS AP of a heatmap codec on a keypoint dataset with GT boxes.

    Parameters
    ----------
    dataset : COCOKeyPoints-like or str
        A keypoint dataset (gluonpose's or GluonCV's ``COCOKeyPoints``, or any
        dataset of ``(img, label, img_id)`` items with a ``coco`` property), or
        a dataset root folder (COCO layout).
    codec : str or HeatmapCodec
        ``'msra'``, ``'unbiased'`` or a codec instance (then ``image_size``,
        ``heatmap_size`` and ``sigma`` come from it).
    image_size : tuple of int
        Network input ``(H, W)``.
    heatmap_size : tuple of int, optional
        ``(h, w)``; default ``image_size // 4``.
    sigma : float
        Gaussian sigma in heatmap pixels for a codec built by name.
    schema : KeypointSchema or str, optional
        Keypoint schema for the OKS sigmas; default the dataset's, else COCO.
    split : str, optional
        Split label for the protocol record (default derived from the dataset).
    in_vis_thresh : float
        Instance score = mean of the maxvals above this threshold (0 if none) x
        box score, GluonCV's ``COCOKeyPointsMetric`` rule (default 0), so the MSRA
        oracle equals one assembled from GluonCV's own pieces. GT-invisible
        joints decode with maxval 0, so this is the mean over the visible joints
        that reached the heatmap (a visible joint whose whole 3-sigma window
        falls outside the map decodes with maxval 0 too and is left out).
    results_file : str, optional
        Where to write the COCO results json (kept). Default: a temporary file,
        removed afterwards.
    batch_size : int
        Instances encoded at once (bounds memory: ``batch x J x h x w`` floats).
    verbose : bool
        Print COCOeval's summary table.

    Returns
    -------
    OracleResult
        ``ap``, ``stats``, ``protocol``, ``summary()``.
    """
    if isinstance(dataset, (str, os.PathLike)):
        dataset = _open_dataset(os.fspath(dataset), split)
    if isinstance(codec, str):
        codec = get_codec(codec, image_size=image_size, heatmap_size=heatmap_size, sigma=sigma)
    image_size, heatmap_size = codec.image_size, codec.heatmap_size
    if schema is None:
        schema = getattr(dataset, "schema", None) or COCO_PERSON
    schema = get_schema(schema)

    bboxes, joints, vis, image_ids, box_scores = _dataset_records(dataset)
    if joints.shape[1] != schema.num_joints:
        raise ValueError("dataset has %d joints, schema %r has %d"
                         % (joints.shape[1], schema.name, schema.num_joints))
    hgt, wid = image_size
    center, scale = boxes_to_center_scale(bboxes, float(wid) / hgt)
    trans = get_affine_transform_batch(center, scale, 0.0, (wid, hgt))
    # GluonCV keeps joints in float32 records; map in float64, store float32
    crop_joints = affine_transform_points(joints, trans).astype(np.float32)

    coords = np.empty(joints.shape, np.float32)
    maxvals = np.empty(joints.shape[:2] + (1,), np.float32)
    for start in range(0, len(bboxes), batch_size):
        sl = slice(start, start + batch_size)
        target, _ = codec.encode(crop_joints[sl], vis[sl])
        coords[sl], maxvals[sl] = codec.decode(target, center[sl], scale[sl])

    mv = maxvals[..., 0]
    above = mv > in_vis_thresh
    inst_score = np.where(above.any(axis=1),
                          (mv * above).sum(axis=1) / np.maximum(above.sum(axis=1), 1), 0.0)
    inst_score = inst_score * box_scores

    coco = dataset.coco
    cat_ids = coco.getCatIds()
    cat_id = 1 if (1 in cat_ids or not cat_ids) else cat_ids[0]
    kps = np.concatenate([coords, maxvals], axis=2).reshape(len(coords), -1)
    results = [{"image_id": int(i), "category_id": cat_id,
                "keypoints": [float(v) for v in k], "score": float(s)}
               for i, k, s in zip(image_ids, kps, inst_score)]

    keep_file = results_file is not None
    if not keep_file:
        fd, results_file = tempfile.mkstemp(prefix="oracle_", suffix=".json")
        os.close(fd)
    try:
        write_json(results_file, results)
        stats = _coco_keypoint_eval(coco, results_file, schema.sigmas, verbose)
    finally:
        if not keep_file:
            os.remove(results_file)

    protocol = OrderedDict([
        ("boxes", "ground-truth"),
        ("flip", False),
        ("codec", codec.describe()),
        ("input_size", "%dx%d" % image_size),
        ("heatmap_size", "%dx%d" % heatmap_size),
        ("split", _dataset_split_name(dataset, split)),
        ("instances", int(len(bboxes))),
        ("oks_sigmas", schema.name),
        ("metric", "COCOeval keypoints AP (pycocotools)"),
    ])
    return OracleResult(stats, protocol, results_file if keep_file else None)


def _coco_keypoint_eval(coco, results_file, sigmas, verbose):
    """COCOeval ``'keypoints'`` with the schema's sigmas; the ten summary numbers."""
    from pycocotools.cocoeval import COCOeval
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with quiet:
        dets = coco.loadRes(results_file)
        ev = COCOeval(coco, dets, "keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return OrderedDict(zip(STAT_NAMES, (float(v) for v in ev.stats)))


# ----------------------------------------------------------------------------- CLI

def _size(text):
    parts = [int(p) for p in text.replace("x", ",").split(",")]
    if len(parts) != 2:
        raise argparse.ArgumentTypeError("expected H,W, got %r" % text)
    return tuple(parts)


def main(argv=None):
    """``python -m gluonpose.utils.oracle``: oracle AP of both codecs."""
    parser = argparse.ArgumentParser(
        prog="python -m gluonpose.utils.oracle",
        description="Oracle OKS AP of the heatmap codecs (GT boxes, GT joints encoded then "
                    "decoded). Default data: the bundled mini COCO set.")
    parser.add_argument("--root", help="dataset root (COCO layout); default the bundled set")
    parser.add_argument("--split", help="annotation json name without .json")
    parser.add_argument("--input-size", type=_size, default=(256, 192), help="H,W (256,192)")
    parser.add_argument("--heatmap-size", type=_size, default=None, help="h,w (input / 4)")
    parser.add_argument("--sigma", type=float, default=2.0, help="Gaussian sigma (2)")
    parser.add_argument("--codec", default="msra,unbiased",
                        help="comma-separated codecs (msra,unbiased)")
    parser.add_argument("--json", help="also write the results (stats + protocol) here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print COCOeval tables")
    args = parser.parse_args(argv)

    root, split = args.root, args.split
    if root is None:
        from ..data.mini import MINI_COCO_SPLIT, mini_coco_root
        root, split = mini_coco_root(), split or MINI_COCO_SPLIT
    dataset = _open_dataset(root, split)
    sigma = int(args.sigma) if float(args.sigma).is_integer() else args.sigma
    out = []
    for name in args.codec.split(","):
        res = oracle_ap(dataset, name.strip(), image_size=args.input_size,
                        heatmap_size=args.heatmap_size, sigma=sigma, verbose=args.verbose)
        print(res.summary())
        out.append(res.to_dict())
    if args.json:
        write_json(args.json, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
