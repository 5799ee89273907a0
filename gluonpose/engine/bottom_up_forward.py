"""Box-free inference of bottom-up (OpenPose) models: one image in, every person out.

:func:`predict_bottom_up` is the test protocol of a :class:`~gluonpose.model_zoo.spec.BottomUpSpec`
model (OpenPose's, ``architectures.md`` section 4.4), shared by ``gluonpose
eval`` (:mod:`gluonpose.engine.evaluate_bottom_up`) and ``gluonpose predict``
(:class:`gluonpose.inference.bottom_up.BottomUpPredictor`); it lives in the
engine layer, below the Predictor, so both can import it:

1. **inputs** (:func:`bottom_up_inputs`): for each test scale ``s`` the image
   is resized by ``m = s * input_size / H`` (bicubic) and padded right/bottom
   with 128 to a multiple of the stride -- exactly
   :class:`~gluonpose.data.transforms.presets.bottom_up.BottomUpValTransform`
   -- normalised with the spec's ``mean``/``std`` (RGB in [0, 1]) and given
   in the spec's channel order (reversed for ``'bgr'``);
2. **network**: one forward pass per scale; with ``flip`` the mirrored input
   goes in the same batch. The spec's decoded pair (last stage PAF, heatmaps)
   is read with ``spec.decoded``;
3. **flip merge** (``flip=True``), at map resolution on the whole padded
   map (the mirrored input has its padding on the left, so the merge must come
   before the padding is cropped): the mirrored output is mirrored back along
   W, its heatmap channels permuted by ``spec.flip_heatmap``, its PAF channels
   by ``spec.paf_flip_channels()`` (limbs swapped, every x component
   negated), and averaged with the plain output. Up-sampling is linear and
   mirror-symmetric, so this equals merging at image resolution;
4. **back to the image**: :meth:`~gluonpose.codecs.paf.PAFCodec.to_image`
   (bicubic x stride, the padding cropped, bicubic to ``H x W``);
5. **scales**: heatmaps and PAFs averaged over the scales at image resolution
   (:func:`~gluonpose.codecs.paf.merge_scales`);
6. **grouping**: :meth:`PAFCodec.decode` (``upsample=False``): peaks, limb
   scores, greedy matching, assembly; keypoints in COCO-17 order.

Keypoints are in image pixels, integer values at pixel centres (the codec's
convention, the one of the ground truth it encodes); no half-pixel offset is
added (the CMU/Keras pipeline adds none either).
"""
import time

import mxnet as mx
import numpy as np

__all__ = ["predict_bottom_up", "bottom_up_maps", "bottom_up_inputs", "default_paf_codec",
           "input_height", "parse_scales", "keypoint_boxes"]


def default_paf_codec(spec):
    """The :class:`~gluonpose.codecs.paf.PAFCodec` a bottom-up spec was trained for.

    The same as ``spec.make_codec()``, kept for callers of the OpenPose path.
    """
    return spec.make_codec()


def input_height(input_size, spec):
    """The image height at scale 1: ``None`` (the spec's), an int, ``'368'`` or ``'368,368'``."""
    if input_size is None or input_size == "":
        return int(spec.input_size[0])
    if isinstance(input_size, (int, np.integer)):
        size = int(input_size)
    else:
        parts = [p for p in str(input_size).replace("x", ",").replace(" ", "").split(",") if p] \
            if isinstance(input_size, str) else list(input_size)
        try:
            size = int(parts[0])
        except (IndexError, TypeError, ValueError):
            size = 0
    if size <= 0:
        raise ValueError("input size %r: a bottom-up model takes the image height at scale 1 "
                         "(e.g. 368)" % (input_size,))
    return size


def parse_scales(scales, spec):
    """Test scales: ``None`` (the spec's ``test_scales``), ``'0.5,1'`` or a sequence."""
    if scales is None or (isinstance(scales, str) and not scales.strip()):
        return tuple(spec.test_scales)
    if isinstance(scales, str):
        scales = [p for p in scales.replace(" ", "").split(",") if p]
    try:
        out = tuple(float(s) for s in np.atleast_1d(scales))
    except (TypeError, ValueError):
        out = ()
    if not out or min(out) <= 0:
        raise ValueError("scales must be positive numbers such as 0.5,1,1.5,2; got %r"
                         % (scales,))
    return out


def bottom_up_inputs(image, spec, scales=None, input_size=None, mean=None, std=None,
                     pad_value=128):
    """Network inputs of one image, one per scale (steps 1 of the module notes).

    Parameters
    ----------
    image : numpy.ndarray
        ``H x W x 3`` uint8 RGB.
    spec : BottomUpSpec
    scales : sequence of float, optional
        Default ``spec.test_scales``.
    input_size : int, optional
        Image height at scale 1; default ``spec.input_size[0]``.
    mean, std : sequence of float, optional
        Default the spec's.
    pad_value : int

    Returns
    -------
    inputs : list of numpy.ndarray
        float32 ``(3, Hp, Wp)`` per scale, in the network's channel order.
    meta : dict
        :class:`BottomUpValTransform`'s (``multipliers``, ``sizes``,
        ``padded_sizes``, ``image_size``).
    """
    from ..data.transforms.presets.bottom_up import BottomUpValTransform
    transform = BottomUpValTransform(input_height(input_size, spec), spec.stride,
                                     parse_scales(scales, spec), pad_value,
                                     spec.mean if mean is None else mean,
                                     spec.std if std is None else std)
    images, meta = transform(image)
    inputs = []
    for x in images:
        x = x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x, np.float32)
        if spec.bgr:
            x = x[::-1]
        inputs.append(np.ascontiguousarray(x, dtype=np.float32))
    return inputs, meta


def _flip_back(spec, heat, paf):
    """Maps of a mirrored input in the unflipped frame, with the spec's permutations."""
    if spec.flip_heatmap is None or spec.flip_paf is None:
        raise ValueError("flip test: this %s spec has no flip permutations" % spec.family)
    perm, signs = spec.paf_flip_channels()
    heat = heat[list(spec.flip_heatmap), :, ::-1]
    paf = paf[list(perm), :, ::-1] * np.asarray(signs, np.float32)[:, None, None]
    return heat, paf


def bottom_up_maps(net, spec, image, scales=None, flip=False, codec=None, ctx=None,
                   input_size=None, mean=None, std=None, dtype="float32", timings=None):
    """Heatmaps and PAFs of one image at image resolution, merged over flip and scales.

    Steps 1-5 of the module notes. Returns ``(heatmaps (19, H, W), pafs (38,
    H, W))`` float32, ready for ``codec.decode(..., upsample=False)``.
    ``timings`` (a dict) receives seconds under ``'crop'`` (resize and
    normalise), ``'network'`` and ``'decode_heatmaps'`` (flip merge, back to
    the image, scale averaging).
    """
    from ..codecs.paf import merge_scales
    codec = codec or spec.make_codec()
    ctx = ctx or mx.cpu()
    clock = time.perf_counter
    t0 = clock()
    image = np.asarray(image)
    inputs, meta = bottom_up_inputs(image, spec, scales, input_size, mean, std)
    t_crop, t_net, t_maps = clock() - t0, 0.0, 0.0
    image_size = tuple(int(v) for v in image.shape[:2])
    maps = []
    for i, x in enumerate(inputs):
        t0 = clock()
        batch = np.stack([x, x[:, :, ::-1]]) if flip else x[None]
        out = net(mx.nd.array(batch, ctx=ctx, dtype=dtype))
        paf, heat = spec.decoded(out)
        paf = paf.astype("float32").asnumpy()
        heat = heat.astype("float32").asnumpy()
        t1 = clock()
        if flip:
            fh, fp = _flip_back(spec, heat[1], paf[1])
            heat, paf = (heat[0] + fh) / 2, (paf[0] + fp) / 2
        else:
            heat, paf = heat[0], paf[0]
        size = tuple(int(v) for v in meta["sizes"][i])
        maps.append(codec.to_image(heat, paf, image_size=image_size, input_size=size))
        t_net += t1 - t0
        t_maps += clock() - t1
    t0 = clock()
    merged = maps[0] if len(maps) == 1 else merge_scales(maps)
    merged = tuple(np.ascontiguousarray(m, dtype=np.float32) for m in merged)
    t_maps += clock() - t0
    if timings is not None:
        timings["crop"] = t_crop
        timings["network"] = t_net
        timings["decode_heatmaps"] = t_maps
    return merged


def predict_bottom_up(net, spec, image_rgb_uint8, scales=None, flip=False, codec=None,
                      ctx=mx.cpu(), input_size=None, mean=None, std=None, dtype="float32",
                      timings=None):
    """The people of one image, no boxes (the whole protocol of the module notes).

    Parameters
    ----------
    net : Block
        Initialised on ``ctx``; returns the tuple of stage outputs.
    spec : BottomUpSpec
        The network's contract (``spec_of(net)``).
    image_rgb_uint8 : numpy.ndarray
        ``H x W x 3`` uint8 RGB.
    scales : sequence of float, optional
        Test scales (relative to ``input_size``); default ``spec.test_scales``.
    flip : bool
        Also run the mirrored image and average (spec permutations, PAF x negated).
    codec : PAFCodec, optional
        Grouping (default :func:`default_paf_codec`).
    ctx : Context
    input_size : int, optional
        Image height at scale 1 (default ``spec.input_size[0]``, 368).
    mean, std : sequence of float, optional
        Default the spec's.
    dtype : str
        Network input dtype.
    timings : dict, optional
        Receives per-stage seconds (see :func:`bottom_up_maps`; grouping adds
        to ``'decode_heatmaps'``).

    Returns
    -------
    keypoints : numpy.ndarray
        float32 ``(N, 17, 3)``: COCO-order ``x, y`` in image pixels and the
        joint's peak score (zeros where the part was not found).
    scores : numpy.ndarray
        float32 ``(N,)`` person scores (the codec's: peak plus connection scores).
    """
    if getattr(spec, "grouping", "paf") != "paf":
        # another grouping (Associative Embedding's tags) has its own test protocol
        from importlib import import_module
        module, name = _PROTOCOLS[spec.grouping].split(":")
        protocol = getattr(import_module(module, __package__), name)
        return protocol(net, spec, image_rgb_uint8, scales=scales, flip=flip, codec=codec,
                        ctx=ctx, input_size=input_size, mean=mean, std=std, dtype=dtype,
                        timings=timings)
    codec = codec or spec.make_codec()
    heat, paf = bottom_up_maps(net, spec, image_rgb_uint8, scales, flip, codec, ctx,
                               input_size, mean, std, dtype, timings)
    t0 = time.perf_counter()
    keypoints, scores = codec.decode(heat, paf, upsample=False, order="coco")
    if timings is not None:
        timings["decode_heatmaps"] = timings.get("decode_heatmaps", 0.0) + \
            time.perf_counter() - t0
    return keypoints, scores


#: the test protocol of every other grouping, ``module:function`` (the same signature
#: as :func:`predict_bottom_up`)
_PROTOCOLS = {"ae": ".ae_forward:predict_ae"}


def keypoint_boxes(keypoints):
    """``(N, 4)`` xyxy boxes around each person's found joints (confidence > 0)."""
    kp = np.asarray(keypoints, np.float64)
    if not len(kp):
        return np.zeros((0, 4))
    found = kp[:, :, 2] > 0
    big = np.where(found[..., None], kp[:, :, :2], np.inf)
    small = np.where(found[..., None], kp[:, :, :2], -np.inf)
    lo, hi = big.min(axis=1), small.max(axis=1)
    boxes = np.concatenate([lo, hi], axis=1)
    boxes[~found.any(axis=1)] = 0.0
    return boxes


# --------------------------------------------------------------------------------- predictor
