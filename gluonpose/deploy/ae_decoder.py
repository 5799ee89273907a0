"""Associative Embedding pre- and post-processing with numpy, OpenCV and scipy only.

``gluonpose export`` of an Associative Embedding model (``spec.grouping ==
'ae'``) copies this module next to ``model.onnx`` as ``pose_decoder.py``,
together with the AE codec (:mod:`gluonpose.codecs.ae`) as ``ae_codec.py``;
the import of the codec below is rewritten at copy time to
``from ae_codec import ...`` (and the codec's own gluonpose imports are
replaced by standalone equivalents), so a deployment needs ``numpy``,
``opencv-python`` (``cv2``), ``scipy`` (the grouping's minimum-cost
assignment) and a runtime for the network (``onnxruntime``), never MXNet or
gluonpose.

The pipeline is the library's test protocol
(:func:`gluonpose.engine.ae_forward.predict_ae`):

1. :meth:`AEDecoder.preprocess` -- per test scale ``s`` the image's longer
   side is scaled to ``s * input_height`` and padded right/bottom with zeros
   to a multiple of ``size_multiple`` (:func:`ae_test_inputs`), normalised
   ``(x / 255 - mean) / std`` and given in the model's channel order; with
   ``flip`` the mirrored input is the second item of the batch;
2. the network (the exported ONNX has a dynamic batch, height and width):
   two outputs, the last stack's detections ``(N, K, h, w)`` and tags
   ``(N, K * D, h, w)``;
3. :meth:`AEDecoder.postprocess` -- flip and scale merge
   (:func:`merge_outputs`), grouping (:meth:`AECodec.decode`), map cells to
   image pixels with scale one's multiplier (:meth:`AECodec.to_image`).

Example (a folder made by ``gluonpose export --model ae_hourglass_2stack_light_coco``)::

    import sys, onnxruntime as ort
    sys.path.insert(0, 'deploy_dir')
    import pose_decoder
    dec = pose_decoder.AEDecoder.from_folder('deploy_dir')
    sess = ort.InferenceSession('deploy_dir/model.onnx')
    keypoints, scores = dec.run(sess, image_rgb_uint8)     # (N, 17, 3), (N,)
"""
import json
import os

import numpy as np

from ..codecs.ae import AECodec, ae_test_inputs, merge_outputs

__all__ = ["CODEC_KEYS", "AEDecoder"]

#: AECodec constructor arguments stored in ``deploy.json`` (``codec``)
CODEC_KEYS = ("stride", "sigma", "num_joints", "max_people", "tag_dim", "detection_threshold",
              "tag_threshold", "top_k", "use_detection_val", "ignore_too_much", "joint_order",
              "refine", "adjust")


class AEDecoder:
    """The Associative Embedding protocol driven by a deployment's ``deploy.json``.

    Parameters
    ----------
    config : dict
        ``deploy.json`` of an AE export (``kind == 'bottom_up'``, ``grouping
        == 'ae'``): uses ``input_height``, ``size_multiple``, ``stride``,
        ``mean``, ``std``, ``channel_order``, ``flip_heatmap``,
        ``test_scales``, ``tag_dim``, ``codec``, ``input_name``,
        ``output_names``.
    """

    def __init__(self, config):
        if config.get("kind") != "bottom_up" or config.get("grouping") != "ae":
            raise ValueError("not an associative embedding deployment (kind %r, grouping %r)"
                             % (config.get("kind"), config.get("grouping")))
        self.config = dict(config)
        self.input_height = int(config["input_height"])
        self.size_multiple = int(config["size_multiple"])
        self.stride = int(config["stride"])
        # float32 like the library's protocol, so the normalised input is bit-identical
        self.mean = np.asarray(config["mean"], np.float32)
        self.std = np.asarray(config["std"], np.float32)
        self.channel_order = str(config.get("channel_order", "rgb"))
        self.scales = tuple(float(s) for s in config.get("test_scales", (1.0,)))
        self.flip_heatmap = config.get("flip_heatmap")
        self.tag_dim = int(config.get("tag_dim", 1))
        self.input_name = config.get("input_name", "data")
        self.output_names = tuple(config.get("output_names", ("detections", "tags")))
        self.codec = AECodec(**{k: v for k, v in config["codec"].items() if k in CODEC_KEYS})

    @classmethod
    def from_folder(cls, folder):
        """The decoder of a deployment folder."""
        with open(os.path.join(folder, "deploy.json"), encoding="utf-8") as f:
            return cls(json.load(f))

    def _scales(self, scales):
        scales = self.scales if scales is None else tuple(float(s) for s in scales)
        if not scales or min(scales) <= 0:
            raise ValueError("scales must be positive, got %r" % (scales,))
        return scales

    def preprocess(self, image, scales=None, flip=False):
        """Network inputs of one RGB uint8 image.

        Returns
        -------
        batches : list of numpy.ndarray
            float32 ``(1 or 2, 3, Hp, Wp)`` per scale (the mirrored input second
            with ``flip``).
        meta : dict
            ``scales``, ``multipliers`` (input pixels per image pixel, per
            scale), ``scale_one`` (the index whose tags and map grid are used),
            ``image_size`` and ``flip``.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("expected an H x W x 3 RGB image, got shape %s" % (image.shape,))
        if flip and self.flip_heatmap is None:
            raise ValueError("flip test: this model has no flip permutation")
        scales = self._scales(scales)
        images, mults = ae_test_inputs(image, self.input_height, scales, self.size_multiple)
        batches = []
        for img in images:
            x = (img - self.mean) / self.std
            if self.channel_order == "bgr":
                x = x[..., ::-1]
            x = np.ascontiguousarray(x.transpose(2, 0, 1), np.float32)
            batches.append(np.stack([x, x[:, :, ::-1]]) if flip else x[None])
        # tags are read at scale 1 (the first scale when there is none)
        one = scales.index(1.0) if 1.0 in scales else 0
        return batches, {"scales": scales, "multipliers": [float(m) for m in mults],
                         "scale_one": one, "image_size": image.shape[:2], "flip": bool(flip)}

    def maps(self, outputs, meta):
        """Merged detections ``(K, h, w)`` and tags ``(K, h, w, D')`` on scale one's grid.

        ``outputs``: per scale the network's ``(detections, tags)`` for the
        batch :meth:`preprocess` gave. ``D'`` is 2 with flip (plain and
        flipped-back tags side by side), else 1.
        """
        if len(outputs) != len(meta["scales"]):
            raise ValueError("%d outputs for %d scales" % (len(outputs), len(meta["scales"])))
        if self.tag_dim != 1:
            raise ValueError("the AE test protocol reads 1-D tags; this model has tag_dim=%d"
                             % self.tag_dim)
        flip = meta["flip"]
        per_scale = []
        for det, tag in outputs:
            det = np.asarray(det, np.float32)
            tag = np.asarray(tag, np.float32)
            per_scale.append((det[0], tag[0], det[1] if flip else None,
                              tag[1] if flip else None))
        det, tags = merge_outputs(per_scale, self.flip_heatmap if flip else None, self.stride,
                                  scales=list(meta["scales"]), scale_one=meta["scale_one"])
        return det, tags

    def postprocess(self, outputs, meta):
        """People from the network outputs: ``(keypoints (N, K, 3), scores (N,))``.

        Keypoints are ``x, y`` in image pixels and the joint's detection value.
        """
        det, tags = self.maps(outputs, meta)
        keypoints, scores = self.codec.decode(det, tags)
        keypoints = self.codec.to_image(keypoints, meta["multipliers"][meta["scale_one"]])
        return keypoints, np.asarray(scores, np.float32)

    def run(self, session, image, scales=None, flip=False):
        """The whole protocol with an ``onnxruntime.InferenceSession`` (or any ``run`` alike)."""
        batches, meta = self.preprocess(image, scales, flip)
        outputs = [session.run(list(self.output_names), {self.input_name: b})[:2]
                   for b in batches]
        return self.postprocess(outputs, meta)
