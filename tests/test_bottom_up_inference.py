"""Box-free inference and evaluation of bottom-up (OpenPose) models.

A stub network answers every input the protocol feeds it with the PAF codec's
encoding of the image's annotated people at that input (it recognises an
input by its bytes), so the whole path -- resize/pad, forward, maps back to
the image, flip merge, scale averaging, grouping, COCO results, COCOeval --
is checked against the codec's own encode -> decode oracle.
"""
import contextlib
import hashlib
import io
import json
import os
import shutil
import warnings

import mxnet as mx
import numpy as np
import pytest

from gluonpose.cli import main
from gluonpose.codecs.paf import PAFCodec
from gluonpose.data import MINI_COCO_SPLIT, mini_coco_root
from gluonpose.engine.config import EVAL_DEFAULTS, make_config
from gluonpose.engine.evaluate import evaluate
from gluonpose.inference import BottomUpPredictor, Predictor, predict_bottom_up
from gluonpose.inference.bottom_up import bottom_up_inputs
from gluonpose.model_zoo import get_model_spec
from _mini_annotations import annotated_people, coco_api

MODEL = "openpose_mobilenet_light_coco"
SPEC = get_model_spec(MODEL)
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
IMAGES = os.path.join(mini_coco_root(), "train2017")
HEIGHT = 184                       # image height at scale 1 (small: fast, people still apart)


def _key(x):
    return hashlib.sha1(np.ascontiguousarray(x, np.float32).tobytes()).hexdigest()


class GroundTruthNet(mx.gluon.Block):
    """Returns the codec's encoding of the registered people of whatever image it is fed."""

    def __init__(self, spec, codec, **kwargs):
        super().__init__(**kwargs)
        self.pose_spec = spec
        self.codec = codec
        self.table = {}

    def register(self, image, people, scales, input_size=HEIGHT, mirror=False):
        """Make the inputs of ``image`` answerable (and the mirrored ones with ``mirror``)."""
        inputs, meta = bottom_up_inputs(image, self.pose_spec, scales, input_size)
        image_size = image.shape[:2]
        for i, x in enumerate(inputs):
            joints, size = self.codec.image_to_input(people, image_size, meta["multipliers"][i])
            assert tuple(size) == tuple(meta["sizes"][i])
            padded = x.shape[1:]
            self.table[_key(x)] = (joints, padded)
            if mirror:
                mirrored = joints[:, COCO_FLIP].copy()
                mirrored[..., 0] = padded[1] - 1 - mirrored[..., 0]
                self.table[_key(x[:, :, ::-1])] = (mirrored, padded)
        return inputs, meta

    def forward(self, x):
        heats, pafs = [], []
        for xi in x.asnumpy():
            joints, padded = self.table[_key(xi)]
            heat, paf, _ = self.codec.encode(joints, padded)
            heats.append(heat)
            pafs.append(paf)
        paf, heat = mx.nd.array(np.stack(pafs)), mx.nd.array(np.stack(heats))
        return tuple([paf, heat] * (len(self.pose_spec.outputs) // 2))


def _image(coco, image_id):
    from gluonpose.inference import read_image
    return read_image(os.path.join(IMAGES, coco.imgs[image_id]["file_name"]))


def _crowded_image(coco, least=3):
    """The first image (sorted ids) with at least ``least`` annotated people."""
    for image_id in sorted(coco.getImgIds()):
        if len(annotated_people(coco, image_id)) >= least:
            return image_id
    raise AssertionError("no image with %d people" % least)


def _nearest(kp, people):
    """Max joint distance (px) of each decoded person to the closest annotated person."""
    out = []
    for k in kp:
        best = np.inf
        for q in people:
            both = (k[:, 2] > 0) & (q[:, 2] > 0)
            if both.any():
                best = min(best, np.abs(k[both, :2] - q[both, :2]).max())
        out.append(best)
    return np.array(out)


# ----------------------------------------------------------------------------- (a) predict

def test_predict_equals_codec_decode_of_the_same_maps():
    coco = coco_api()
    image_id = _crowded_image(coco)
    image, people = _image(coco, image_id), annotated_people(coco, image_id)
    codec = PAFCodec()
    net = GroundTruthNet(SPEC, codec)
    inputs, meta = net.register(image, people, (1.0,))
    kp, scores = predict_bottom_up(net, SPEC, image, scales=(1.0,), codec=codec,
                                   input_size=HEIGHT)
    # the codec on the stub's maps, straight
    joints, padded = net.table[_key(inputs[0])]
    heat, paf, _ = codec.encode(joints, padded)
    want_kp, want_scores = codec.decode(heat, paf, image_size=image.shape[:2],
                                        input_size=tuple(meta["sizes"][0]))
    assert kp.shape == want_kp.shape and kp.shape[1:] == (17, 3) and len(kp) >= 2
    np.testing.assert_allclose(kp, want_kp, atol=1e-4)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5)
    # and those are the annotated people (within a map cell: 8 input px, ~8-12 image px)
    assert (_nearest(kp, people) <= 8.0).all(), _nearest(kp, people)


def test_flip_and_scales_give_the_sameannotated_people():
    coco = coco_api()
    image_id = _crowded_image(coco)
    image, people = _image(coco, image_id), annotated_people(coco, image_id)
    # PAF cells on the heatmap grid: the mirrored input's maps are exactly mirrored
    codec = PAFCodec(paf_offset=3.5)
    net = GroundTruthNet(SPEC, codec)
    net.register(image, people, (1.0, 0.75), mirror=True)
    plain = predict_bottom_up(net, SPEC, image, scales=(1.0,), codec=codec, input_size=HEIGHT)
    flipped = predict_bottom_up(net, SPEC, image, scales=(1.0,), flip=True, codec=codec,
                                input_size=HEIGHT)
    assert len(plain[0]) >= 2 and flipped[0].shape == plain[0].shape
    np.testing.assert_allclose(flipped[0], plain[0], atol=1e-3)
    np.testing.assert_allclose(flipped[1], plain[1], rtol=1e-3)
    both = predict_bottom_up(net, SPEC, image, scales=(1.0, 0.75), flip=True, codec=codec,
                             input_size=HEIGHT)
    assert len(both[0]) == len(plain[0])
    assert (_nearest(both[0], people) <= 8.0).all()


# ----------------------------------------------------------------------------- (b) eval

def _oracle_ap(coco, image_ids, codec, height):
    """The codec's encode -> decode AP at the protocol's input (m = height / H)."""
    from pycocotools.cocoeval import COCOeval
    from gluonpose.data.schema import COCO_PERSON
    results = []
    for image_id in image_ids:
        info = coco.imgs[image_id]
        size = (int(info["height"]), int(info["width"]))
        people = annotated_people(coco, image_id)
        if not len(people):
            continue
        joints, input_size = codec.image_to_input(people, size, height / float(size[0]))
        heat, paf, _ = codec.encode(joints, input_size)
        kps, scores = codec.decode(heat, paf, image_size=size, input_size=input_size)
        results += [{"image_id": int(image_id), "category_id": 1,
                     "keypoints": [float(v) for v in k.reshape(-1)], "score": float(s)}
                    for k, s in zip(kps, scores)]
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(results), "keypoints")
        ev.params.kpt_oks_sigmas = COCO_PERSON.sigmas.copy()
        ev.params.imgIds = sorted(image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


@pytest.mark.parametrize("flip", [False, True])
def test_eval_with_ground_truth_maps_gives_the_codec_oracle_ap(tmp_path, flip):
    coco = coco_api()
    ids = sorted(coco.getImgIds())[:4]
    # with flip: PAF cells on the heatmap grid, so the mirrored maps mirror exactly
    codec = PAFCodec(paf_offset=3.5 if flip else 0.0)
    net = GroundTruthNet(SPEC, codec)
    for image_id in ids:
        net.register(_image(coco, image_id), annotated_people(coco, image_id), (1.0,), mirror=flip)
    cfg = make_config(EVAL_DEFAULTS, {"data_dir": "mini", "input_size": str(HEIGHT),
                                      "max_samples": len(ids), "output_dir": str(tmp_path),
                                      "progress": False, "flip_test": flip})
    cfg["scales"] = "1"
    lines = []
    res = evaluate(cfg, net=net, echo=lines.append)
    want = _oracle_ap(coco, ids, codec, HEIGHT)
    assert want >= 0.3
    assert res.ap == pytest.approx(want, abs=1e-9)
    assert sorted(res.preds[3]) == ids
    # the results json: one COCO entry per person, score = person score
    results = json.load(open(res.results_file))
    assert len(results) == len(res.preds[0]) and results
    assert {r["category_id"] for r in results} == {1}
    np.testing.assert_allclose([r["score"] for r in results], res.preds[1], rtol=1e-6)
    # the protocol record
    record = json.load(open(res.protocol_file))
    p = record["protocol"]
    assert p["method"] == "bottom-up" and p["boxes"] == "none" and p["flip"] is flip
    assert p["scales"] == [1.0] and p["input_size"] == HEIGHT
    assert p["codec"].startswith("paf(") and p["split"].endswith(MINI_COCO_SPLIT)
    assert p["images"] == len(ids) and record["num_gt_images"] == len(ids)
    assert record["stats"]["AP"] == pytest.approx(res.ap)
    assert record["results_file"] == os.path.basename(res.results_file)
    assert "bottom-up" in lines[-1] and ("no flip" in lines[-1]) is not flip


# ----------------------------------------------------------------------------- (c) real model

@pytest.fixture(scope="module")
def light_params(tmp_path_factory):
    from gluonpose.model_zoo import get_model
    mx.random.seed(5)
    net = get_model(MODEL)
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 64, 64)))
    path = str(tmp_path_factory.mktemp("w") / "light.params")
    net.save_parameters(path)
    return path


def test_predictor_dispatches_to_bottom_up(light_params):
    pred = Predictor(MODEL, params_file=light_params, input_size=64, flip_test=True,
                     progress=False)
    assert isinstance(pred, BottomUpPredictor)
    image = os.path.join(IMAGES, sorted(os.listdir(IMAGES))[0])
    result = pred(image)
    assert result.image_id == int(os.path.splitext(os.path.basename(image))[0])
    for person in result:
        assert person.keypoints.shape == (17, 3)
    assert "bottom-up" in pred.describe()
    with pytest.raises(ValueError, match="without boxes"):
        Predictor(MODEL, params_file=light_params, boxes=[[0, 0, 10, 10]])


def test_cli_predict_and_eval_with_a_random_light_model(light_params, tmp_path, capsys):
    image = os.path.join(IMAGES, sorted(os.listdir(IMAGES))[0])
    out_dir = tmp_path / "out"
    code = main(["predict", "--model", MODEL, "--params", light_params, "--input-size", "64",
                 image, "--output-dir", str(out_dir), "--results-json",
                 str(tmp_path / "r.json"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "bottom-up" in out and os.path.isfile(out_dir / os.path.basename(image))
    assert isinstance(json.load(open(tmp_path / "r.json")), list)
    # a folder: every image, one line each
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in sorted(os.listdir(IMAGES))[:2]:
        shutil.copy(os.path.join(IMAGES, name), folder / name)
    code = main(["predict", "--model", MODEL, "--params", light_params, "--input-size", "64",
                 str(folder), "--flip-test", "--scales", "1,0.5", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert sum(":" in l and ("person" in l or "people" in l) for l in out.splitlines()) == 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["eval", "--model", MODEL, "--params-file", light_params, "--data-dir",
                     "mini", "--max-samples", "2", "--input-size", "64", "--scales", "1",
                     "--output-dir", str(tmp_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    protocol = [l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("protocol: ")]
    record = json.load(open(protocol[0]))
    assert 0.0 <= record["stats"]["AP"] <= 1.0
    assert record["protocol"]["method"] == "bottom-up" and record["protocol"]["images"] == 2


# ----------------------------------------------------------------------------- (d) bad input

def test_missing_image_is_one_error_line(tmp_path, capsys):
    missing = str(tmp_path / "missing.jpg")
    code = main(["predict", "--model", MODEL, missing, "--no-progress"])
    _, err = capsys.readouterr()
    lines = [l for l in err.splitlines() if l.strip()]
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("gluonpose: error: ") and \
        "missing.jpg" in lines[0], err


def test_top_down_only_options_are_refused(tmp_path, capsys):
    code = main(["eval", "--model", MODEL, "--data-dir", "mini", "--oracle",
                 "--output-dir", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code != 0 and "gluonpose: error:" in err and "oracle" in err
    code = main(["eval", "--model", "simple_pose_resnet18_v1b", "--data-dir", "mini",
                 "--scales", "1", "--output-dir", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code != 0 and "--scales" in err
