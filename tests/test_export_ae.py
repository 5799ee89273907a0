"""Associative Embedding export: two-output ONNX parity, the standalone AE decoder, CLI.

The light hourglass is randomly initialised (``net.initialize()``, seeded)
and its decoded stack's output convolution is scaled up so detections and
tags are of order 1 (planted weights): the default codec then finds people
(detections above its 0.1 threshold, tags spread over several units), so
both sides decode with the same, unmodified ``spec.make_codec()``.
"""
import glob
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap

import mxnet as mx
import numpy as np
import pytest

from gluonpose.codecs.ae import AECodec
from gluonpose.data import mini_coco_root
from gluonpose.deploy.export import (_copy_rewritten, bottom_up_deploy_config, export_onnx,
                                     load_deployment, load_symbol, write_deployment)
from gluonpose.engine.ae_forward import ae_maps, predict_ae
from gluonpose.model_zoo import get_model, get_model_spec
from _export_cli import assert_one_line_export_error, export_cli

MODEL = "ae_hourglass_2stack_light_coco"
SPEC = get_model_spec(MODEL)
SIZE = (128, 128)


def _random_net(seed=0):
    """The light AE hourglass, seeded, its decoded head scaled to maps of std ~0.4.

    The zoo's initialisation gives detections of ~0.05 (below the parser's
    0.1 threshold) and tags a few hundredths apart, so nobody would be found
    and a 1e-4 bound would say little.
    """
    mx.random.seed(seed)
    net = get_model(MODEL)
    net.initialize()
    x = mx.nd.array(np.random.default_rng(seed).random((1, 3) + SIZE))
    det, _ = SPEC.decoded(net(x))
    factor = 0.4 / float(det.asnumpy().std())
    params = net.collect_params()
    # the output convolution of the decoded (last) stack: its weight and bias
    head = sorted(k for k in params.keys() if "_outs_" in k)[-2:]
    assert [k.rsplit("_", 1)[1] for k in head] == ["bias", "weight"], head
    for k in head:
        params[k].set_data(params[k].data() * factor)
    return net


@pytest.fixture(scope="module")
def net():
    return _random_net()


@pytest.fixture(scope="module")
def params_file(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("params") / "ae_light.params"
    net.save_parameters(str(path))
    return str(path)


@pytest.fixture(scope="module")
def image():
    from gluonpose.inference.sources import read_image
    return read_image(sorted(glob.glob(os.path.join(mini_coco_root(), "train2017",
                                                    "*.jpg")))[0])


def _decoded(net, x):
    det, tag = SPEC.decoded(net(mx.nd.array(x)))
    return det.asnumpy(), tag.asnumpy()


def _close(out, ref, rel=1e-4):
    """``out`` equals ``ref`` to ``rel`` of ``ref``'s magnitude (at least 1)."""
    return float(np.abs(out - ref).max()) <= rel * max(1.0, float(np.abs(ref).max()))


# ----------------------------------------------------------------------------- ONNX

def test_onnx_has_detections_and_tags_and_a_dynamic_size(net, tmp_path):
    import onnx
    import onnxruntime as ort
    path = export_onnx(net, str(tmp_path / "m.onnx"), SIZE)
    model = onnx.load(path)
    assert model.opset_import[0].version == 13 and model.ir_version == 7
    assert [i.name for i in model.graph.input] == ["data"]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == ["batch", 3, "height", "width"]
    assert [o.name for o in sess.get_outputs()] == ["detections", "tags"]
    rng = np.random.default_rng(1)
    # the traced size, then another one (batch, height and width all change)
    for shape in ((1, 3) + SIZE, (2, 3, 192, 128)):
        x = rng.random(shape).astype(np.float32)
        ref_det, ref_tag = _decoded(net, x)
        det, tag = sess.run(["detections", "tags"], {"data": x})
        h, w = shape[2] // 4, shape[3] // 4
        assert det.shape == tag.shape == (shape[0], 17, h, w)
        for out, ref in ((det, ref_det), (tag, ref_tag)):
            assert ref.std() > 0.1                   # maps of order 1
            assert _close(out, ref), float(np.abs(out - ref).max())


def test_symbol_export_has_two_outputs(net, tmp_path):
    cfg = bottom_up_deploy_config(MODEL, SIZE, SPEC, "symbol")
    write_deployment(net, str(tmp_path / "sym"), cfg)
    assert sorted(os.listdir(tmp_path / "sym")) == ["ae_codec.py", "deploy.json",
                                                    "model-0000.params", "model-symbol.json",
                                                    "pose_decoder.py"]
    back = load_symbol(str(tmp_path / "sym"))
    x = np.random.default_rng(2).random((1, 3, 64, 128)).astype(np.float32)
    det, tag = back(mx.nd.array(x))
    ref_det, ref_tag = _decoded(net, x)
    np.testing.assert_allclose(det.asnumpy(), ref_det, rtol=0, atol=1e-5)
    np.testing.assert_allclose(tag.asnumpy(), ref_tag, rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- deploy.json

def test_deploy_config_records_the_ae_protocol():
    cfg = bottom_up_deploy_config(MODEL, SIZE, SPEC, "onnx")
    assert cfg["kind"] == "bottom_up" and cfg["grouping"] == "ae" and cfg["model"] == MODEL
    assert cfg["input_name"] == "data" and cfg["output_names"] == ["detections", "tags"]
    assert cfg["input_size"] == list(SIZE) and cfg["input_height"] == SIZE[0]
    assert cfg["dynamic_size"] is True and cfg["dynamic_batch"] is True
    assert cfg["stride"] == 4 and cfg["size_multiple"] == 64
    assert cfg["channel_order"] == SPEC.channel_order and cfg["color"] == "RGB"
    assert cfg["mean"] == list(SPEC.mean) and cfg["std"] == list(SPEC.std)
    assert cfg["test_scales"] == list(SPEC.test_scales)
    assert cfg["num_joints"] == 17 and cfg["tag_dim"] == SPEC.tag_dim
    assert cfg["flip_heatmap"] == list(SPEC.flip_heatmap)
    assert cfg["codec_name"] == "ae" and cfg["schema"] == "coco"
    assert "gluonpose_version" in cfg
    # the codec settings are AECodec's constructor arguments, all of them
    assert set(cfg["codec"]) == set(inspect.signature(AECodec).parameters)
    assert vars(AECodec(**json.loads(json.dumps(cfg["codec"])))) == vars(SPEC.make_codec())
    # a caller's codec (e.g. another threshold) reaches the deployed decoder
    from gluonpose.deploy.ae_decoder import AEDecoder
    tuned = AECodec(detection_threshold=0.3, tag_threshold=2.0)
    cfg = bottom_up_deploy_config(MODEL, SIZE, SPEC, "symbol", codec=tuned)
    assert cfg["dynamic_size"] is False
    assert vars(AEDecoder(json.loads(json.dumps(cfg))).codec) == vars(tuned)


def test_decoder_rejects_bad_input():
    from gluonpose.deploy.ae_decoder import AEDecoder
    cfg = json.loads(json.dumps(bottom_up_deploy_config(MODEL, SIZE, SPEC, "onnx")))
    dec = AEDecoder(cfg)
    for bad, what in ((np.zeros((32, 32), np.uint8), "H x W x 3"),
                      (np.zeros((32, 32, 3), np.uint8), "scales must be positive")):
        with pytest.raises(ValueError) as err:
            dec.preprocess(bad, scales=(0.0,) if bad.ndim == 3 else None)
        assert what in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="flip permutation"):
        AEDecoder(dict(cfg, flip_heatmap=None)).preprocess(np.zeros((8, 8, 3), np.uint8),
                                                           flip=True)
    with pytest.raises(ValueError, match="not an associative embedding deployment"):
        AEDecoder(dict(cfg, grouping="paf"))


def test_copy_refuses_an_import_without_replacement(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text("import numpy as np\nfrom .base import to_numpy\nfrom .other import thing\n")
    _copy_rewritten(str(src), str(tmp_path / "ok.py"),
                    {"from .base import to_numpy\n": "", "from .other import thing\n": ""})
    with pytest.raises(RuntimeError, match="no standalone replacement for 'from .other"):
        _copy_rewritten(str(src), str(tmp_path / "bad.py"),
                        {"from .base import to_numpy\n": ""})


# ----------------------------------------------------------------------------- decoder

STANDALONE = textwrap.dedent("""
    import sys
    for name in ("mxnet", "gluonpose", "PIL"):
        sys.modules[name] = None              # importing any of them now fails
    import numpy as np
    import onnxruntime as ort
    import pose_decoder
    assert pose_decoder.__file__.startswith(sys.argv[1])
    assert pose_decoder.AECodec.__module__ == "ae_codec"
    d = sys.argv[2]
    dec = pose_decoder.AEDecoder.from_folder(sys.argv[1])
    sess = ort.InferenceSession(sys.argv[1] + "/model.onnx", providers=["CPUExecutionProvider"])
    image = np.load(d + "/image.npy")
    res = {}
    for tag, scales, flip in (("", (1.0,), False), ("_flip", (1.0,), True),
                              ("_multi", (1.0, 1.5), False)):
        batches, meta = dec.preprocess(image, scales=scales, flip=flip)
        outs = [sess.run(list(dec.output_names), {dec.input_name: b}) for b in batches]
        det, tags = dec.maps(outs, meta)
        kp, scores = dec.postprocess(outs, meta)
        res.update({"batch" + tag: batches[0], "det" + tag: det, "tags" + tag: tags,
                    "kp" + tag: kp, "scores" + tag: scores})
    res["run_kp"], res["run_scores"] = dec.run(sess, image)
    np.savez(d + "/out.npz", **res)
    print("standalone ok", sorted(m for m in ("mxnet", "gluonpose")
                                  if sys.modules.get(m) is not None))
""")


def test_deployment_decoder_runs_without_gluonpose_and_matches_predict_ae(net, image,
                                                                          tmp_path):
    out = tmp_path / "deploy"
    cfg = bottom_up_deploy_config(MODEL, SIZE, SPEC, "onnx")
    written = write_deployment(net, str(out), cfg)
    assert sorted(os.listdir(out)) == ["ae_codec.py", "deploy.json", "model.onnx",
                                       "pose_decoder.py"]
    meta = load_deployment(str(out))
    assert meta == json.loads(json.dumps(written))
    assert meta["grouping"] == "ae" and meta["files"]["codec"] == "ae_codec.py"
    assert set(meta["files"]["sha1"]) == {"model.onnx", "pose_decoder.py", "ae_codec.py"}
    # the shipped files import numpy, OpenCV, scipy, the standard library and each other only
    for name, want in (("pose_decoder.py", {"json", "os", "numpy", "ae_codec"}),
                       ("ae_codec.py", {"cv2", "numpy"})):
        lines = (out / name).read_text().splitlines()
        imports = {l.split()[1] for l in lines if l.startswith(("import ", "from "))}
        assert imports == want, (name, imports)
        # nor inside functions: no relative, gluonpose or MXNet import anywhere
        nested = [l for l in lines if re.match(r"\s*(from|import)\s+(\.|gluonpose|mxnet)", l)]
        assert not nested, (name, nested)

    np.save(tmp_path / "image.npy", image)
    script = tmp_path / "run.py"
    script.write_text(STANDALONE)
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(out)] + site), PYTHONNOUSERSITE="1")
    proc = subprocess.run([sys.executable, "-S", str(script), str(out), str(tmp_path)],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "standalone ok []" in proc.stdout
    res = np.load(tmp_path / "out.npz")

    for tag, scales, flip in (("", (1.0,), False), ("_flip", (1.0,), True),
                              ("_multi", (1.0, 1.5), False)):
        # the runtime's outputs at every scale are the Gluon net's, so the merged maps
        # equal the library protocol's ...
        det, tags, _ = ae_maps(net, SPEC, image, scales, flip, input_size=SIZE[0])
        assert res["det" + tag].shape == det.shape and res["tags" + tag].shape == tags.shape
        assert tags.shape[-1] == (2 if flip else 1)
        assert _close(res["det" + tag], det) and _close(res["tags" + tag], tags)
        # ... and so are the people
        kp, scores = predict_ae(net, SPEC, image, scales, flip, input_size=SIZE[0])
        assert len(kp) >= 2, "the planted net should give people"
        assert res["kp" + tag].shape == kp.shape
        np.testing.assert_allclose(res["kp" + tag], kp, rtol=0, atol=1e-3)
        np.testing.assert_allclose(res["scores" + tag], scores, rtol=1e-4, atol=1e-6)
    # the batch is the library's input: longer side 128, padded to 64, plain then mirrored
    assert res["batch"].shape == (1, 3, 128, 128)
    np.testing.assert_array_equal(res["batch_flip"][1], res["batch_flip"][0][:, :, ::-1])
    np.testing.assert_array_equal(res["batch_flip"][0], res["batch"][0])
    # run() is the spec's default protocol (test_scales, no flip)
    np.testing.assert_array_equal(res["run_kp"], res["kp"])
    np.testing.assert_array_equal(res["run_scores"], res["scores"])


# ----------------------------------------------------------------------------- CLI

def test_cli_export_ae(params_file, tmp_path, capsys):
    import onnxruntime as ort
    out = tmp_path / "dep"
    rc, stdout, err = export_cli(capsys, "--model", MODEL, "--params-file", params_file,
                           "--input-size", "128,128", "--output", str(out))
    assert rc == 0, err
    assert "bottom-up, ae grouping" in stdout
    meta = load_deployment(str(out))
    assert meta["grouping"] == "ae" and meta["source_params"] == "ae_light.params"
    assert meta["input_height"] == 128 and meta["dynamic_size"] is True
    assert sorted(os.listdir(out)) == ["ae_codec.py", "deploy.json", "model.onnx",
                                       "pose_decoder.py"]
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["detections", "tags"]


@pytest.mark.parametrize("case", ["odd_size", "bad_size", "int8", "codec", "missing"])
def test_cli_export_ae_errors_are_one_line(case, params_file, tmp_path, capsys):
    assert_one_line_export_error(case, capsys, tmp_path, MODEL, params_file, "128,128", "96,128", 64)
