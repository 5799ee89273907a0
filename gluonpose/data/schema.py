"""Keypoint schemas: the one description of a keypoint set.

A :class:`KeypointSchema` holds the joint names, the left/right flip pairs, the
skeleton used for drawing and the OKS sigmas used for COCO-style evaluation.
Transforms (horizontal flip), flip test, metrics and drawing all read it, so a
new keypoint set needs one schema and nothing else.
"""
import numpy as np

__all__ = ["KeypointSchema", "COCO_PERSON", "MPII", "HALPE_26", "HALPE_136", "get_schema",
           "register_schema", "DEFAULT_SIGMA"]

#: OKS sigma given to every joint of a custom keypoint set that does not state its own
#: (about the mean of the COCO-17 values).
DEFAULT_SIGMA = 0.05

_SIDES = (("left_", "right_"), ("l_", "r_"), ("left", "right"))


def _derive_flip_pairs(names):
    """Pairs ``(i, j)`` with ``names[i] = 'left_X'`` and ``names[j] = 'right_X'``."""
    index = {n: i for i, n in enumerate(names)}
    pairs = []
    for i, name in enumerate(names):
        low = name.lower()
        for left, right in _SIDES:
            if low.startswith(left):
                partner = right + name[len(left):]
                # keep the original spelling of the suffix, match case-insensitively
                for cand, j in index.items():
                    if cand.lower() == partner.lower():
                        pairs.append((i, j))
                        break
                break
    return pairs


class KeypointSchema:
    """Names, flip pairs, skeleton and OKS sigmas of one keypoint set.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``'coco'``.
    keypoints : sequence of str
        Joint names in channel order.
    flip_pairs : sequence of (int, int), optional
        0-based index pairs that swap under a horizontal flip. When ``None`` they
        are derived from names starting with ``left_``/``right_`` (or ``l_``/``r_``).
    skeleton : sequence of (int, int), optional
        0-based links drawn between joints.
    sigmas : sequence of float, optional
        Per-joint OKS sigmas. When ``None`` every joint gets :data:`DEFAULT_SIGMA`.
    upper_body : sequence of int, optional
        Indices of the upper-body joints, used by half-body augmentation; the
        other joints form the lower body. ``None`` when the set has no such split.
    """

    def __init__(self, name, keypoints, flip_pairs=None, skeleton=(), sigmas=None,
                 upper_body=None):
        self.name = str(name)
        self.keypoints = tuple(str(k) for k in keypoints)
        num = len(self.keypoints)
        if num == 0:
            raise ValueError("keypoint schema %r has no keypoints" % self.name)
        if len(set(self.keypoints)) != num:
            raise ValueError("keypoint schema %r repeats a keypoint name" % self.name)
        if flip_pairs is None:
            flip_pairs = _derive_flip_pairs(self.keypoints)
        self.flip_pairs = self._index_pairs(flip_pairs, "flip_pairs")
        flat = self.flip_pairs.ravel()
        if len(set(flat.tolist())) != flat.size:
            raise ValueError("keypoint schema %r: a joint appears in two flip pairs" % self.name)
        self.skeleton = self._index_pairs(skeleton, "skeleton")
        if sigmas is None:
            sigmas = [DEFAULT_SIGMA] * num
        self.sigmas = np.asarray(sigmas, dtype=np.float64)
        if self.sigmas.shape != (num,):
            raise ValueError("keypoint schema %r: %d sigmas for %d keypoints"
                             % (self.name, self.sigmas.size, num))
        self.upper_body = None if upper_body is None else np.asarray(upper_body, np.int64)
        if self.upper_body is not None and (self.upper_body.min() < 0
                                            or self.upper_body.max() >= num):
            raise ValueError("keypoint schema %r: upper_body index outside 0..%d"
                             % (self.name, num - 1))
        perm = np.arange(num)
        perm[self.flip_pairs[:, 0]] = self.flip_pairs[:, 1]
        perm[self.flip_pairs[:, 1]] = self.flip_pairs[:, 0]
        #: channel permutation applied by a horizontal flip (an involution)
        self.flip_index = perm

    def _index_pairs(self, pairs, what):
        arr = np.asarray(list(pairs), dtype=np.int64).reshape(-1, 2)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self.keypoints)):
            raise ValueError("keypoint schema %r: %s index outside 0..%d"
                             % (self.name, what, len(self.keypoints) - 1))
        return arr

    @property
    def num_joints(self):
        """Number of keypoints."""
        return len(self.keypoints)

    @property
    def joint_pairs(self):
        """Flip pairs as a list of lists, the form GluonCV's presets take."""
        return self.flip_pairs.tolist()

    def index(self, name):
        """Channel index of a keypoint name."""
        return self.keypoints.index(name)

    @classmethod
    def from_coco_category(cls, category, flip_pairs=None, sigmas=None):
        """Build a schema from a COCO json ``categories`` entry.

        The entry's ``keypoints`` list gives the names and its ``skeleton``
        (1-based, as COCO stores it) the links. Flip pairs are derived from the
        names unless given; sigmas (and the upper-body split) default to those
        of a registered schema with the same names, else :data:`DEFAULT_SIGMA`;
        such a schema also takes the registered name (e.g. ``'halpe26'``), so
        records and exports say which keypoint set was read.
        """
        names = category.get("keypoints")
        if not names:
            raise ValueError("category %r has no 'keypoints' list" % category.get("name"))
        skeleton = [(a - 1, b - 1) for a, b in category.get("skeleton", [])]
        # a json that spells out a registered set (e.g. COCO-17) gets that set's
        # sigmas, flip pairs and body split unless the caller overrides them
        known = next((k for k in _REGISTRY.values() if k.keypoints == tuple(names)), None)
        upper_body = None
        if known is not None:
            sigmas = known.sigmas if sigmas is None else sigmas
            flip_pairs = known.flip_pairs if flip_pairs is None else flip_pairs
            upper_body = known.upper_body
        name = known.name if known is not None else category.get("name", "custom")
        return cls(name, names, flip_pairs=flip_pairs,
                   skeleton=skeleton, sigmas=sigmas, upper_body=upper_body)

    def __eq__(self, other):
        return (isinstance(other, KeypointSchema) and self.keypoints == other.keypoints
                and np.array_equal(self.flip_pairs, other.flip_pairs)
                and np.array_equal(self.skeleton, other.skeleton)
                and np.allclose(self.sigmas, other.sigmas))

    def __hash__(self):
        return hash((self.name, self.keypoints))

    def __repr__(self):
        return "KeypointSchema(%r, %d keypoints, %d flip pairs, %d links)" % (
            self.name, self.num_joints, len(self.flip_pairs), len(self.skeleton))


_REGISTRY = {}


def register_schema(schema):
    """Make ``schema`` available to :func:`get_schema` under ``schema.name``."""
    _REGISTRY[schema.name.lower()] = schema
    return schema


def get_schema(name):
    """Look up a registered schema (``'coco'``, ``'mpii'``) or pass a schema through."""
    if isinstance(name, KeypointSchema):
        return name
    try:
        return _REGISTRY[str(name).lower()]
    except KeyError:
        raise ValueError("unknown keypoint schema %r; registered: %s"
                         % (name, ", ".join(sorted(_REGISTRY)))) from None


COCO_PERSON = register_schema(KeypointSchema(
    "coco",
    ["nose", "left_eye", "right_eye", "left_ear", "right_ear",
     "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
     "left_wrist", "right_wrist", "left_hip", "right_hip",
     "left_knee", "right_knee", "left_ankle", "right_ankle"],
    # the official COCO person skeleton (19 links), converted to 0-based
    skeleton=[(15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
              (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4),
              (3, 5), (4, 6)],
    # pycocotools' per-keypoint OKS constants
    sigmas=np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                     1.07, 1.07, .87, .87, .89, .89]) / 10.0,
    upper_body=range(11),
))

MPII = register_schema(KeypointSchema(
    "mpii",
    ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
     "pelvis", "thorax", "upper_neck", "head_top",
     "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
     "left_wrist"],
    skeleton=[(0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
              (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15)],
    # MPII has no OKS protocol; these are the per-joint constants mmpose ships for it
    sigmas=[0.089, 0.083, 0.107, 0.107, 0.083, 0.089, 0.026, 0.026, 0.026, 0.026,
            0.062, 0.072, 0.179, 0.179, 0.072, 0.062],
    upper_body=range(7, 16),
))


# ----------------------------------------------------------------------------- Halpe
# Halpe-FullBody (Fang et al., AlphaPose, TPAMI 2022): 0-16 are COCO-17 in COCO's order,
# then head, neck, pelvis and six foot points (Halpe-26); Halpe-136 adds 68 face
# landmarks (the iBUG-68 layout) and 21 points per hand.

_HALPE_BODY_EXTRA = ["head", "neck", "hip", "left_big_toe", "right_big_toe", "left_small_toe",
                     "right_small_toe", "left_heel", "right_heel"]
_HALPE_26_NAMES = list(COCO_PERSON.keypoints) + _HALPE_BODY_EXTRA

_HALPE_26_FLIP = COCO_PERSON.flip_pairs.tolist() + [(20, 21), (22, 23), (24, 25)]

# AlphaPose's drawing links for Halpe-26 (alphapose/utils/vis.py): the COCO face, shoulders
# and arms hang from the neck, the hips from the pelvis, each foot is a toe-heel-ankle fan
_HALPE_26_SKELETON = [(0, 1), (0, 2), (1, 3), (2, 4), (5, 18), (6, 18), (5, 7), (7, 9),
                      (6, 8), (8, 10), (17, 18), (18, 19), (19, 11), (19, 12), (11, 13),
                      (12, 14), (13, 15), (14, 16), (20, 24), (21, 25), (23, 25), (22, 24),
                      (15, 24), (16, 25)]

# OKS sigmas. The Halpe authors' evaluator (Halpe-FullBody, HalpeCOCOAPI
# halpecocotools/cocoeval.py, computeOks) uses: COCO's 17 values, 0.08 for head, neck and
# pelvis, 0.089 for the six foot points (the ankle value), 0.015 for every face and hand
# point. We use those for both sets, so Halpe-26 is exactly the first 26 of Halpe-136.
# (mmpose's halpe26 config lists other values for 17-25 -- head/neck 0.026, pelvis 0.066,
# feet 0.079 -- citing the same evaluator, which has no 26-point branch; we follow the
# evaluator's numbers.)
_HALPE_26_SIGMAS = np.concatenate([COCO_PERSON.sigmas, [0.08] * 3, [0.089] * 6])

# AlphaPose's half-body split: lower body = hips, knees, ankles and feet (11-16, 20-25);
# the pelvis (19) counts as upper body there, and so do face and hands
_HALPE_LOWER = list(range(11, 17)) + list(range(20, 26))


def _halpe_136_parts():
    """Names, flip pairs and links of Halpe-136's face (26-93) and hands (94-135)."""
    face = ["face_%d" % i for i in range(68)]
    fingers = ["thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger"]
    hand = ["hand_root"] + ["%s%d" % (f, k) for f in fingers for k in range(1, 5)]
    names = face + ["left_" + n for n in hand] + ["right_" + n for n in hand]

    # iBUG-68 mirror pairs (0-based within the face): jaw 0-16, brows 17-26, nose base
    # 31-35, eyes 36-47, outer lip 48-59, inner lip 60-67. These are the pairs of
    # AlphaPose's halpe_136.py (26<->42, ..., 43<->52, ..., 62<->71, ..., 84<->82).
    face_pairs = ([(i, 16 - i) for i in range(8)] + [(17 + i, 26 - i) for i in range(5)]
                  + [(31, 35), (32, 34)]
                  + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
                  + [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]
                  + [(60, 64), (61, 63), (65, 67)])
    pairs = [(26 + a, 26 + b) for a, b in face_pairs] + [(94 + i, 115 + i) for i in range(21)]

    # face contours: open polylines (jaw, brows, nose bridge, nose base) and closed loops
    # (eyes, lips); hands: each finger a chain from the hand root
    def chain(idx, closed=False):
        links = list(zip(idx[:-1], idx[1:]))
        return links + [(idx[-1], idx[0])] if closed else links

    face_links = (chain(range(0, 17)) + chain(range(17, 22)) + chain(range(22, 27))
                  + chain(range(27, 31)) + chain(range(31, 36))
                  + chain(list(range(36, 42)), True) + chain(list(range(42, 48)), True)
                  + chain(list(range(48, 60)), True) + chain(list(range(60, 68)), True))
    links = [(26 + a, 26 + b) for a, b in face_links]
    for root in (94, 115):
        for f in range(5):
            links += chain([root] + [root + 1 + 4 * f + k for k in range(4)])
    # the body wrists carry the hand roots
    links += [(9, 94), (10, 115)]
    return names, pairs, links


_H136_NAMES, _H136_PAIRS, _H136_LINKS = _halpe_136_parts()

HALPE_26 = register_schema(KeypointSchema(
    "halpe26", _HALPE_26_NAMES, flip_pairs=_HALPE_26_FLIP, skeleton=_HALPE_26_SKELETON,
    sigmas=_HALPE_26_SIGMAS,
    upper_body=[i for i in range(26) if i not in _HALPE_LOWER],
))

HALPE_136 = register_schema(KeypointSchema(
    "halpe136", _HALPE_26_NAMES + _H136_NAMES, flip_pairs=_HALPE_26_FLIP + _H136_PAIRS,
    skeleton=_HALPE_26_SKELETON + _H136_LINKS,
    sigmas=np.concatenate([_HALPE_26_SIGMAS, [0.015] * 110]),
    upper_body=[i for i in range(136) if i not in _HALPE_LOWER],
))
