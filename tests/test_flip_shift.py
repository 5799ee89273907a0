"""The flip-test shift, measured on ideal heatmaps (what a perfectly trained network outputs).

Joints at random sub-pixel positions of a 256x192 crop are encoded as unbiased (DARK)
Gaussians, and so are the joints of the mirrored crop (``x -> W - 1 - x``, left and right
swapped). Flipping the mirror's maps back and merging them with the plain maps should give
the plain joints again. In this library's convention (heatmap cell ``k`` stands for input
pixel ``4 k``) the flipped-back maps sit ``(s - 1) / s = 3/4`` of a cell to the left, so,
by hand, at stride 4 and with the merge averaging the two halves:

* no shift (the hourglass/CPN references' merge, exact only in their pixel-centre
  convention): the merged joint is ``3/4 * 4 / 2 = 1.5`` px too far left;
* GluonCV's one-column shift: ``1/4 * 4 / 2 = 0.5`` px too far right;
* the exact 0.75-cell shift (``flip_shift='exact'``): on the joint.
"""
import numpy as np
import pytest

from gluonpose.codecs import flip_heatmaps, flip_merge, get_codec
from gluonpose.data.schema import get_schema
from gluonpose.deploy import numpy_decoder
from gluonpose.model_zoo import get_model_spec, get_pose_model_list

SIZE, HEATMAP = (256, 192), (64, 48)


@pytest.fixture(scope="module")
def ideal_maps():
    schema = get_schema("coco")
    rng = np.random.default_rng(0)
    joints = np.stack([rng.uniform(20, SIZE[1] - 20, (40, 17)),
                       rng.uniform(20, SIZE[0] - 20, (40, 17))], axis=-1).astype(np.float32)
    mirrored = joints.copy()
    mirrored[..., 0] = SIZE[1] - 1 - joints[..., 0]
    mirrored = mirrored[:, schema.flip_index]
    codec = get_codec("unbiased", image_size=SIZE, heatmap_size=HEATMAP, sigma=2)
    vis = np.ones(17, np.float32)
    plain = np.stack([codec.encode(j, vis)[0] for j in joints])
    flipped = np.stack([codec.encode(j, vis)[0] for j in mirrored])
    return schema, codec, joints, plain, flipped


def _x_error(codec, maps, joints):
    coords = codec.decode_heatmap(maps)[0] * (SIZE[1] / HEATMAP[1])
    return coords[..., 0] - joints[..., 0]


@pytest.mark.parametrize("shift, expected", [(False, -1.5), (True, 0.5), (0.75, 0.0)])
def test_merged_flip_error_matches_the_hand_computation(ideal_maps, shift, expected):
    schema, codec, joints, plain, flipped = ideal_maps
    assert abs(_x_error(codec, plain, joints)).max() < 0.05          # the codec itself
    err = _x_error(codec, flip_merge(plain, flipped, schema.flip_index, shift=shift), joints)
    np.testing.assert_allclose(err.mean(), expected, atol=0.05)
    assert err.std() < 0.05


def test_fractional_shift_is_linear_interpolation_with_the_edge_kept():
    maps = np.arange(2 * 1 * 2 * 5, dtype=np.float32).reshape(2, 1, 2, 5)
    back = flip_heatmaps(maps, [0], shift=0.75)
    mirrored = maps[..., ::-1]
    left = np.concatenate([mirrored[..., :1], mirrored[..., :-1]], axis=-1)
    np.testing.assert_allclose(back, 0.25 * mirrored + 0.75 * left)
    # the same on NDArrays, and in the numpy-only deployment decoder
    import mxnet as mx
    np.testing.assert_allclose(flip_heatmaps(mx.nd.array(maps), [0], shift=0.75).asnumpy(),
                               back, rtol=1e-6)
    np.testing.assert_allclose(numpy_decoder.flip_back(maps, [0], shift=0.75), back, rtol=1e-6)
    with pytest.raises(ValueError, match="fraction of a cell"):
        flip_heatmaps(maps, [0], shift=1.5)


def test_specs_state_their_shift():
    # the families whose references flip without a shift take the exact correction
    for name in get_pose_model_list("top_down"):
        spec = get_model_spec(name)
        if spec.family in ("hourglass", "cpn"):
            assert spec.flip_shift == (spec.stride - 1) / spec.stride
        else:       # GluonCV / AlphaPose parity: one column
            assert spec.flip_shift is True
