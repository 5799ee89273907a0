"""Bottom-up (OpenPose) pre- and post-processing with numpy and OpenCV only.

``gluonpose export`` of a bottom-up model copies this module next to
``model.onnx`` as ``pose_decoder.py``, together with the PAF codec
(:mod:`gluonpose.codecs.paf`) as ``paf_codec.py``; the import of the codec
below is rewritten at copy time to ``from paf_codec import ...``, so a
deployment needs ``numpy``, ``opencv-python`` (``cv2``) and a runtime for the
network (``onnxruntime``), never MXNet or gluonpose.

The pipeline is the library's test protocol
(:func:`gluonpose.engine.bottom_up_forward.predict_bottom_up`):

1. :meth:`BottomUpDecoder.preprocess` -- per test scale ``s`` the image is
   resized by ``m = s * input_height / H`` (bicubic), padded right/bottom
   with 128 to a multiple of the stride, normalised ``(x / 255 - mean) / std``
   in RGB and given in the model's channel order (reversed for ``'bgr'``);
   with ``flip`` the mirrored input is the second item of the batch;
2. the network (the exported ONNX has a dynamic batch, height and width, so
   every padded size runs as it is): two outputs, the last stage's PAFs and
   heatmaps;
3. :meth:`BottomUpDecoder.postprocess` -- flip merge at map resolution (the
   model's heatmap and PAF permutations, PAF x negated), maps back to the
   image (``PAFCodec.to_image``), averaged over scales, grouped into people
   (``PAFCodec.decode``), keypoints in COCO-17 order.

Example (a folder made by ``gluonpose export --model openpose_mobilenet_light_coco``)::

    import sys, onnxruntime as ort
    sys.path.insert(0, 'deploy_dir')
    import pose_decoder
    dec = pose_decoder.BottomUpDecoder.from_folder('deploy_dir')
    sess = ort.InferenceSession('deploy_dir/model.onnx')
    keypoints, scores = dec.run(sess, image_rgb_uint8)     # (N, 17, 3), (N,)
"""
import json
import os

import cv2
import numpy as np

from ..codecs.paf import PAFCodec, merge_scales

__all__ = ["CODEC_KEYS", "resize_and_pad", "normalise", "flip_back", "BottomUpDecoder"]

#: PAFCodec constructor arguments stored in ``deploy.json`` (``codec``)
CODEC_KEYS = ("stride", "sigma", "limb_width", "peak_threshold", "paf_threshold", "num_samples",
              "min_paf_fraction", "min_parts", "min_mean_score", "smooth_sigma", "smoothing",
              "paf_offset")


def resize_and_pad(image, multiplier, stride, pad_value=128):
    """``cv2.resize`` by ``multiplier`` (bicubic), padded right/bottom to a multiple of ``stride``.

    Returns the padded ``H x W x 3`` image and the resized, unpadded ``(h, w)``.
    """
    resized = cv2.resize(image, None, fx=multiplier, fy=multiplier,
                         interpolation=cv2.INTER_CUBIC)
    h, w = resized.shape[:2]
    ph, pw = -(-h // stride) * stride, -(-w // stride) * stride
    if (ph, pw) != (h, w):
        resized = cv2.copyMakeBorder(resized, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT,
                                     value=(pad_value,) * 3)
    return resized, (h, w)


def normalise(image, mean, std, channel_order="rgb"):
    """``H x W x 3`` RGB uint8 -> float32 ``(3, H, W)`` in the network's channel order."""
    mean = np.asarray(mean, np.float32)
    std = np.asarray(std, np.float32)
    chw = image.transpose(2, 0, 1)
    if image.dtype == np.uint8:
        levels = np.arange(256, dtype=np.float32) / np.float32(255)
        out = np.stack([((levels - m) / s).astype(np.float32)[plane]
                        for plane, m, s in zip(chw, mean, std)])
    else:
        out = (chw.astype(np.float32) / np.float32(255) - mean[:, None, None]) \
            / std[:, None, None]
    if channel_order == "bgr":
        out = out[::-1]
    return np.ascontiguousarray(out, dtype=np.float32)


def flip_back(heat, paf, flip_heatmap, paf_perm, paf_signs):
    """Maps ``(C, h, w)`` of a mirrored input in the unflipped frame."""
    heat = heat[list(flip_heatmap), :, ::-1]
    paf = paf[list(paf_perm), :, ::-1] * np.asarray(paf_signs, np.float32)[:, None, None]
    return heat, paf


class BottomUpDecoder:
    """The bottom-up protocol driven by a deployment's ``deploy.json``.

    Parameters
    ----------
    config : dict
        ``deploy.json`` of a bottom-up export (``kind == 'bottom_up'``): uses
        ``input_height``, ``stride``, ``mean``, ``std``, ``channel_order``,
        ``flip_heatmap``, ``paf_flip_channels``, ``test_scales``, ``codec``,
        ``input_name``, ``output_names``.
    """

    def __init__(self, config):
        if config.get("kind", "top_down") != "bottom_up":
            raise ValueError("not a bottom-up deployment (kind %r)" % (config.get("kind"),))
        self.config = dict(config)
        self.input_height = int(config["input_height"])
        self.stride = int(config["stride"])
        self.mean = tuple(float(v) for v in config["mean"])
        self.std = tuple(float(v) for v in config["std"])
        self.channel_order = str(config.get("channel_order", "rgb"))
        self.pad_value = config.get("pad_value", 128)
        self.scales = tuple(float(s) for s in config.get("test_scales", (1.0,)))
        self.flip_heatmap = config.get("flip_heatmap")
        self.paf_flip = config.get("paf_flip_channels")
        self.input_name = config.get("input_name", "data")
        self.output_names = tuple(config.get("output_names", ("pafs", "heatmaps")))
        self.codec = PAFCodec(**{k: v for k, v in config["codec"].items() if k in CODEC_KEYS})

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
            ``multipliers``, ``sizes`` (resized, unpadded ``(h, w)`` per
            scale), ``image_size`` and ``flip``.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("expected an H x W x 3 RGB image, got shape %s" % (image.shape,))
        ih, iw = image.shape[:2]
        batches, mults, sizes = [], [], []
        for s in self._scales(scales):
            m = s * self.input_height / float(ih)
            if round(ih * m) < 1 or round(iw * m) < 1:
                raise ValueError("scale %g resizes the %dx%d image to nothing" % (s, iw, ih))
            padded, size = resize_and_pad(image, m, self.stride, self.pad_value)
            x = normalise(padded, self.mean, self.std, self.channel_order)
            batches.append(np.stack([x, x[:, :, ::-1]]) if flip else x[None])
            mults.append(m)
            sizes.append(size)
        return batches, {"multipliers": mults, "sizes": sizes, "image_size": (ih, iw),
                         "flip": bool(flip)}

    def maps(self, outputs, meta):
        """Heatmaps and PAFs at image resolution, merged over flip and scales.

        ``outputs``: per scale the network's ``(pafs, heatmaps)`` for the batch
        :meth:`preprocess` gave.
        """
        if len(outputs) != len(meta["sizes"]):
            raise ValueError("%d outputs for %d scales" % (len(outputs), len(meta["sizes"])))
        maps = []
        for (paf, heat), size in zip(outputs, meta["sizes"]):
            paf = np.asarray(paf, np.float32)
            heat = np.asarray(heat, np.float32)
            if meta["flip"]:
                if self.flip_heatmap is None or self.paf_flip is None:
                    raise ValueError("flip test: this model has no flip permutations")
                fh, fp = flip_back(heat[1], paf[1], self.flip_heatmap, *self.paf_flip)
                heat, paf = (heat[0] + fh) / 2, (paf[0] + fp) / 2
            else:
                heat, paf = heat[0], paf[0]
            maps.append(self.codec.to_image(heat, paf, image_size=meta["image_size"],
                                            input_size=tuple(size)))
        merged = maps[0] if len(maps) == 1 else merge_scales(maps)
        return tuple(np.ascontiguousarray(m, dtype=np.float32) for m in merged)

    def postprocess(self, outputs, meta):
        """People from the network outputs: ``(keypoints (N, 17, 3), scores (N,))``."""
        heat, paf = self.maps(outputs, meta)
        return self.codec.decode(heat, paf, upsample=False, order="coco")

    def run(self, session, image, scales=None, flip=False):
        """The whole protocol with an ``onnxruntime.InferenceSession`` (or any ``run`` alike)."""
        batches, meta = self.preprocess(image, scales, flip)
        outputs = [session.run(list(self.output_names), {self.input_name: b})[:2]
                   for b in batches]
        return self.postprocess(outputs, meta)
