"""Keypoint schemas: hand-checked flip pairs, sigmas and the COCO json path."""
import numpy as np
import pytest

from gluonpose.data.schema import (COCO_PERSON, DEFAULT_SIGMA, MPII, KeypointSchema,
                                   get_schema)


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
