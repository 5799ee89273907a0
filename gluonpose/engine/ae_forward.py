"""Box-free inference of Associative Embedding models: the reference's test protocol.

:func:`predict_ae` is what :func:`~gluonpose.engine.bottom_up_forward.predict_bottom_up`
runs for a spec whose ``grouping`` is ``'ae'``
(:class:`~gluonpose.model_zoo.spec.AssociativeEmbeddingSpec`), so ``gluonpose
eval``, ``gluonpose predict`` and the Predictor take it without knowing the
family (``architectures.md`` section 2.5):

1. **inputs** (:func:`~gluonpose.codecs.ae.ae_test_inputs`): for every test
   scale ``s`` the image's longer side is resized to ``s * input_size`` and
   padded right/bottom to the spec's size multiple (64), normalised with the
   spec's ``mean``/``std`` (the reference: ``x / 255``);
2. **network**: one forward pass per scale, the mirrored input in the same
   batch with ``flip``; the decoded (last) stack gives detections and tags
   (``spec.decoded``);
3. **merge** (:func:`~gluonpose.codecs.ae.merge_outputs`): detections of the
   plain and flipped-back passes summed over scales on the grid of scale 1,
   averaged, clipped at 1; tags from scale 1 only, plain and flipped back
   side by side (2-D tags with ``flip``);
4. **grouping** (:meth:`AECodec.decode <gluonpose.codecs.ae.AECodec.decode>`):
   NMS peaks, matching by tag distance with a minimum-cost assignment,
   refinement, quarter-cell adjustment; cells to image pixels with scale 1's
   multiplier.

Without a scale of exactly 1 in ``scales`` the first scale plays its part.
"""
import time

import mxnet as mx
import numpy as np

__all__ = ["predict_ae", "ae_maps"]


def _scale_one(scales):
    return scales.index(1.0) if 1.0 in scales else 0


def ae_maps(net, spec, image, scales=None, flip=False, ctx=None, input_size=None, mean=None,
            std=None, dtype="float32", timings=None):
    """Merged detections and tags of one image (steps 1-3 of the module notes).

    Returns
    -------
    det : numpy.ndarray
        float32 ``(K, h, w)`` on the map grid of scale one.
    tags : numpy.ndarray
        float32 ``(K, h, w, D)``; ``D = 2`` with ``flip``.
    multiplier : float
        Input pixels per image pixel at scale one.
    """
    from ..codecs.ae import ae_test_inputs, merge_outputs
    from .bottom_up_forward import input_height, parse_scales
    if spec.tag_dim != 1:
        raise ValueError("the AE test protocol reads 1-D tags; this spec has tag_dim=%d"
                         % spec.tag_dim)
    if flip and not spec.has_flip:
        raise ValueError("flip test: this %s spec has no flip permutation" % spec.family)
    scales = list(parse_scales(scales, spec))
    ctx = ctx or mx.cpu()
    mean = np.asarray(spec.mean if mean is None else mean, np.float32)
    std = np.asarray(spec.std if std is None else std, np.float32)
    clock = time.perf_counter
    t0 = clock()
    images, multipliers = ae_test_inputs(np.asarray(image), input_height(input_size, spec),
                                         scales, spec.size_multiple)
    t_crop, t_net = clock() - t0, 0.0
    per_scale = []
    for img in images:
        t0 = clock()
        x = (img - mean) / std
        if spec.bgr:
            x = x[..., ::-1]
        x = np.ascontiguousarray(x.transpose(2, 0, 1), np.float32)
        batch = np.stack([x, x[:, :, ::-1]]) if flip else x[None]
        det, tag = spec.decoded(net(mx.nd.array(batch, ctx=ctx, dtype=dtype)))
        det = det.astype("float32").asnumpy()
        tag = tag.astype("float32").asnumpy()
        per_scale.append((det[0], tag[0], det[1] if flip else None, tag[1] if flip else None))
        t_net += clock() - t0
    t0 = clock()
    one = _scale_one(scales)
    det, tags = merge_outputs(per_scale, spec.flip_heatmap if flip else None, spec.stride,
                              scales=scales, scale_one=one)
    if timings is not None:
        timings["crop"] = t_crop
        timings["network"] = t_net
        timings["decode_heatmaps"] = clock() - t0
    return det, tags, float(multipliers[one])


def predict_ae(net, spec, image_rgb_uint8, scales=None, flip=False, codec=None, ctx=None,
               input_size=None, mean=None, std=None, dtype="float32", timings=None):
    """The people of one image, no boxes (the whole protocol of the module notes).

    The arguments are those of
    :func:`~gluonpose.engine.bottom_up_forward.predict_bottom_up`; ``codec``
    is an :class:`~gluonpose.codecs.ae.AECodec` (default
    ``spec.make_codec()``) and ``input_size`` the longer image side at
    scale 1 (default ``spec.input_size[0]``, 512).

    Returns
    -------
    keypoints : numpy.ndarray
        float32 ``(N, K, 3)``: ``x, y`` in image pixels and the joint's
        detection value (joints filled in by the refinement keep theirs).
    scores : numpy.ndarray
        float32 ``(N,)``: the mean detection value of the joints the
        matching found (before refinement), as the reference scores a person.
    """
    codec = codec or spec.make_codec()
    det, tags, multiplier = ae_maps(net, spec, image_rgb_uint8, scales, flip, ctx, input_size,
                                    mean, std, dtype, timings)
    t0 = time.perf_counter()
    keypoints, scores = codec.decode(det, tags)
    keypoints = codec.to_image(keypoints, multiplier)
    if timings is not None:
        timings["decode_heatmaps"] = timings.get("decode_heatmaps", 0.0) + \
            time.perf_counter() - t0
    return keypoints, np.asarray(scores, np.float32)
