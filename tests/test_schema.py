"""Keypoint schemas: hand-checked flip pairs, sigmas and the COCO json path."""
import numpy as np
import pytest

from gluonpose.data.schema import (COCO_PERSON, DEFAULT_SIGMA, HALPE_26, HALPE_136, MPII,
                                   KeypointSchema, get_schema)


def test_coco_schema_matches_the_coco_definition():
    assert COCO_PERSON.num_joints == 17
    # GluonCV's joint_pairs for COCO
    assert COCO_PERSON.joint_pairs == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12],
                                       [13, 14], [15, 16]]
    # pycocotools' constants: nose .026, hips .107
    assert COCO_PERSON.sigmas[0] == pytest.approx(0.026)
    assert COCO_PERSON.sigmas[11] == pytest.approx(0.107)
    assert len(COCO_PERSON.skeleton) == 19
    assert get_schema("COCO") is COCO_PERSON


def test_flip_index_is_an_involution_that_swaps_sides():
    for schema in (COCO_PERSON, MPII):
        perm = schema.flip_index
        np.testing.assert_array_equal(perm[perm], np.arange(schema.num_joints))
        for i, name in enumerate(schema.keypoints):
            partner = schema.keypoints[perm[i]]
            if name.startswith("left_"):
                assert partner == "right_" + name[5:]
            elif not name.startswith("right_"):
                assert partner == name      # centre joints map to themselves
    assert MPII.flip_index[0] == 5 and MPII.flip_index[10] == 15   # ankles, wrists


def test_custom_set_from_a_coco_category():
    cat = {"name": "hand", "keypoints": ["left_tip", "right_tip", "palm", "l_base", "r_base"],
           "skeleton": [[1, 3], [2, 3]]}
    schema = KeypointSchema.from_coco_category(cat)
    assert schema.joint_pairs == [[0, 1], [3, 4]]
    assert schema.skeleton.tolist() == [[0, 2], [1, 2]]           # 1-based -> 0-based
    np.testing.assert_array_equal(schema.sigmas, [DEFAULT_SIGMA] * 5)
    assert schema.upper_body is None
    coco_cat = {"name": "person", "keypoints": list(COCO_PERSON.keypoints), "skeleton": []}
    from_json = KeypointSchema.from_coco_category(coco_cat)
    np.testing.assert_array_equal(from_json.sigmas, COCO_PERSON.sigmas)
    np.testing.assert_array_equal(from_json.upper_body, COCO_PERSON.upper_body)


@pytest.mark.parametrize("kwargs, message", [
    (dict(keypoints=[]), "no keypoints"),
    (dict(keypoints=["a", "a"]), "repeats"),
    (dict(keypoints=["a", "b"], flip_pairs=[(0, 2)]), "outside"),
    (dict(keypoints=["a", "b", "c"], flip_pairs=[(0, 1), (1, 2)]), "two flip pairs"),
    (dict(keypoints=["a", "b"], sigmas=[0.1]), "1 sigmas for 2"),
])
def test_bad_schemas_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KeypointSchema("bad", **kwargs)
    with pytest.raises(ValueError, match="unknown keypoint schema"):
        get_schema("no-such-set")


# ----------------------------------------------------------------------------- Halpe

# Halpe-26 flip pairs and links as listed in the reference notes (architectures.md 0.2,
# from AlphaPose's halpe_26.py and vis.py)
HALPE26_PAIRS = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
                 (20, 21), (22, 23), (24, 25)]
HALPE26_LINKS = [(0, 1), (0, 2), (1, 3), (2, 4), (5, 18), (6, 18), (5, 7), (7, 9), (6, 8),
                 (8, 10), (17, 18), (18, 19), (19, 11), (19, 12), (11, 13), (12, 14), (13, 15),
                 (14, 16), (20, 24), (21, 25), (23, 25), (22, 24), (15, 24), (16, 25)]
# Halpe-136 face pairs (AlphaPose's halpe_136.py, written out) and hands 94+i <-> 115+i
HALPE136_FACE_PAIRS = [(26, 42), (27, 41), (28, 40), (29, 39), (30, 38), (31, 37), (32, 36),
                       (33, 35), (43, 52), (44, 51), (45, 50), (46, 49), (47, 48), (62, 71),
                       (63, 70), (64, 69), (65, 68), (66, 73), (67, 72), (57, 61), (58, 60),
                       (74, 80), (75, 79), (76, 78), (87, 89), (93, 91), (86, 90), (85, 81),
                       (84, 82)]


def _pair_set(pairs):
    return {tuple(sorted(p)) for p in np.asarray(pairs).tolist()}


def test_halpe_sets_counts_prefix_and_pairs():
    assert HALPE_26.num_joints == 26 and HALPE_136.num_joints == 136
    assert get_schema("halpe26") is HALPE_26 and get_schema("HALPE136") is HALPE_136
    # 0-16 are COCO-17: same names, flip pairs, sigmas
    for schema in (HALPE_26, HALPE_136):
        assert schema.keypoints[:17] == COCO_PERSON.keypoints
        np.testing.assert_array_equal(schema.sigmas[:17], COCO_PERSON.sigmas)
        np.testing.assert_array_equal(schema.flip_index[:17], COCO_PERSON.flip_index)
    assert HALPE_26.keypoints[17:20] == ("head", "neck", "hip")
    assert HALPE_136.keypoints[:26] == HALPE_26.keypoints
    assert _pair_set(HALPE_26.flip_pairs) == _pair_set(HALPE26_PAIRS)
    assert _pair_set(HALPE_26.skeleton) == _pair_set(HALPE26_LINKS)
    # the body pairs also follow from the names
    assert _pair_set(KeypointSchema("x", HALPE_26.keypoints).flip_pairs) == \
        _pair_set(HALPE26_PAIRS)
    hands = [(94 + i, 115 + i) for i in range(21)]
    assert _pair_set(HALPE_136.flip_pairs) == \
        _pair_set(HALPE26_PAIRS + HALPE136_FACE_PAIRS + hands)
    assert len(HALPE_136.flip_pairs) == 11 + 29 + 21
    # hand names mirror too (left_thumb1 <-> right_thumb1, ...)
    for a, b in hands:
        assert HALPE_136.keypoints[a].replace("left_", "right_") == HALPE_136.keypoints[b]
    # Halpe's evaluator: head/neck/pelvis 0.08, feet 0.089, face and hands 0.015
    np.testing.assert_allclose(HALPE_26.sigmas[17:], [0.08] * 3 + [0.089] * 6)
    np.testing.assert_array_equal(HALPE_136.sigmas[:26], HALPE_26.sigmas)
    np.testing.assert_allclose(HALPE_136.sigmas[26:], 0.015)
    # half-body: AlphaPose's lower-body ids 11-16, 20-25
    lower = sorted(set(range(26)) - set(HALPE_26.upper_body.tolist()))
    assert lower == [11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25]
    assert sorted(set(range(136)) - set(HALPE_136.upper_body.tolist())) == lower


def test_halpe_flip_index_is_an_involution():
    for schema in (HALPE_26, HALPE_136):
        perm = schema.flip_index
        np.testing.assert_array_equal(perm[perm], np.arange(schema.num_joints))
    perm = HALPE_136.flip_index
    assert perm[17] == 17 and perm[18] == 18 and perm[19] == 19     # head, neck, pelvis
    assert perm[26] == 42 and perm[34] == 34 and perm[92] == 92     # jaw ends, chin, lip centre
    assert perm[94] == 115 and perm[135] == 114                     # hand roots, pinky tips
    # every link stays a link after mirroring
    links = _pair_set(HALPE_136.skeleton)
    assert _pair_set(perm[HALPE_136.skeleton]) == links


def test_json_spelling_halpe26_gets_the_registered_schema():
    cat = {"name": "person", "keypoints": list(HALPE_26.keypoints),
           "skeleton": (HALPE_26.skeleton + 1).tolist()}
    schema = KeypointSchema.from_coco_category(cat)
    assert schema.name == "halpe26" and schema == HALPE_26
    np.testing.assert_array_equal(schema.upper_body, HALPE_26.upper_body)
