"""Bottom-up (OpenPose) export: two-output ONNX parity, the standalone PAF decoder, CLI."""
import json
import os
import subprocess
import sys
import textwrap

import mxnet as mx
import numpy as np
import pytest

from gluonpose.codecs.paf import PAFCodec
from gluonpose.data import mini_coco_root
from gluonpose.deploy.export import (bottom_up_deploy_config, export_onnx, load_deployment,
                                     load_symbol, write_deployment)
from gluonpose.engine.bottom_up_forward import (bottom_up_inputs, bottom_up_maps,
                                                default_paf_codec, predict_bottom_up)
from gluonpose.model_zoo import get_model, get_model_spec
from _export_cli import assert_one_line_export_error, export_cli
from _mini_annotations import annotated_people, coco_api

MODEL = "openpose_mobilenet_light_coco"
SPEC = get_model_spec(MODEL)
SIZE = (64, 64)
STUB_HEIGHT = 184              # the stub's image height at scale 1 (people still apart)


def _random_net(seed=0):
    """The light OpenPose, seeded, He-initialised, random BN statistics: O(1) outputs.

    The zoo's head initialisers give maps of ~1e-12, which would make a 1e-4
    parity bound meaningless.
    """
    mx.random.seed(seed)
    net = get_model(MODEL)
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3) + SIZE))
    rng = np.random.default_rng(seed)
    for name, p in net.collect_params().items():
        if name.endswith("running_mean") or name.endswith("beta"):
            p.set_data(mx.nd.array(rng.normal(0, 0.2, p.shape)))
        elif name.endswith("running_var") or name.endswith("gamma"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape)))
        elif name.endswith("weight") and len(p.shape) == 4:
            fan_in = int(np.prod(p.shape[1:]))
            p.set_data(mx.nd.array(rng.normal(0, np.sqrt(2.0 / fan_in), p.shape)))
        elif name.endswith("bias"):
            p.set_data(mx.nd.array(rng.normal(0, 0.05, p.shape)))
    # the decoded heads' last convolutions rescaled so their maps have a std of ~0.5
    x = mx.nd.array(rng.standard_normal((1, 3) + SIZE))
    params = net.collect_params()
    for out, arr in zip(SPEC.decoded_outputs, SPEC.decoded(net(x))):
        factor = 0.5 / float(arr.asnumpy().std())
        last = sorted(k for k in params.keys() if "_%s_conv" % out.name in k)[-2:]
        assert [k.rsplit("_", 1)[1] for k in last] == ["bias", "weight"], last
        for k in last:
            params[k].set_data(params[k].data() * factor)
    return net


@pytest.fixture(scope="module")
def net():
    return _random_net()


@pytest.fixture(scope="module")
def params_file(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("params") / "light.params"
    net.save_parameters(str(path))
    return str(path)


def _decoded(net, x):
    paf, heat = SPEC.decoded(net(mx.nd.array(x)))
    return paf.asnumpy(), heat.asnumpy()


def _crowded(coco, least=3):
    from gluonpose.inference.sources import read_image
    for image_id in sorted(coco.getImgIds()):
        people = annotated_people(coco, image_id)
        if len(people) >= least:
            path = os.path.join(mini_coco_root(), "train2017", coco.imgs[image_id]["file_name"])
            return read_image(path), people
    raise AssertionError("no image with %d people" % least)


# ----------------------------------------------------------------------------- ONNX

def test_onnx_has_the_decoded_pair_and_a_dynamic_size(net, tmp_path):
    import onnx
    import onnxruntime as ort
    path = export_onnx(net, str(tmp_path / "m.onnx"), SIZE)
    model = onnx.load(path)
    assert model.opset_import[0].version == 13 and model.ir_version == 7
    assert [i.name for i in model.graph.input] == ["data"]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == ["batch", 3, "height", "width"]
    assert [o.name for o in sess.get_outputs()] == ["pafs", "heatmaps"]
    rng = np.random.default_rng(1)
    for shape in ((2, 3, 64, 64), (1, 3, 96, 72)):
        x = rng.standard_normal(shape).astype(np.float32)
        ref_paf, ref_heat = _decoded(net, x)
        paf, heat = sess.run(["pafs", "heatmaps"], {"data": x})
        h, w = shape[2] // 8, shape[3] // 8
        assert paf.shape == (shape[0], 38, h, w) and heat.shape == (shape[0], 19, h, w)
        for out, ref in ((paf, ref_paf), (heat, ref_heat)):
            assert ref.std() > 0.05                  # maps of order 1
            assert np.abs(out - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())


def test_symbol_export_has_two_outputs(net, tmp_path):
    cfg = bottom_up_deploy_config(MODEL, SIZE, SPEC, "symbol")
    write_deployment(net, str(tmp_path / "sym"), cfg)
    assert sorted(os.listdir(tmp_path / "sym")) == ["deploy.json", "model-0000.params",
                                                    "model-symbol.json", "paf_codec.py",
                                                    "pose_decoder.py"]
    back = load_symbol(str(tmp_path / "sym"))
    x = np.random.default_rng(2).standard_normal((1, 3, 72, 64)).astype(np.float32)
    paf, heat = back(mx.nd.array(x))
    ref_paf, ref_heat = _decoded(net, x)
    np.testing.assert_allclose(paf.asnumpy(), ref_paf, rtol=0, atol=1e-5)
    np.testing.assert_allclose(heat.asnumpy(), ref_heat, rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- decoder

STANDALONE = textwrap.dedent("""
    import sys
    for name in ("mxnet", "gluonpose", "PIL", "scipy"):
        sys.modules[name] = None              # importing any of them now fails
    import numpy as np
    import onnxruntime as ort
    import pose_decoder
    assert pose_decoder.__file__.startswith(sys.argv[1])
    assert pose_decoder.PAFCodec.__module__ == "paf_codec"
    d = sys.argv[2]
    dec = pose_decoder.BottomUpDecoder.from_folder(sys.argv[1])
    sess = ort.InferenceSession(sys.argv[1] + "/model.onnx", providers=["CPUExecutionProvider"])
    image = np.load(d + "/image.npy")
    res = {}
    for flip in (False, True):
        batches, meta = dec.preprocess(image, scales=(1.0,), flip=flip)
        outs = [sess.run(list(dec.output_names), {dec.input_name: b}) for b in batches]
        heat, paf = dec.maps(outs, meta)
        kp, scores = dec.postprocess(outs, meta)
        tag = "_flip" if flip else ""
        res.update({"batch" + tag: batches[0], "out_paf" + tag: outs[0][0],
                    "out_heat" + tag: outs[0][1], "heat" + tag: heat, "paf" + tag: paf,
                    "kp" + tag: kp, "scores" + tag: scores})
    res["run_kp"], res["run_scores"] = dec.run(sess, image, scales=(1.0,))
    # the stub: ground-truth-encoded maps of the crowded image, at another input height
    stub = pose_decoder.BottomUpDecoder(dict(dec.config, input_height=int(sys.argv[3])))
    crowd = np.load(d + "/crowd.npy")
    _, meta = stub.preprocess(crowd, scales=(1.0,))
    res["stub_kp"], res["stub_scores"] = stub.postprocess(
        [(np.load(d + "/stub_paf.npy")[None], np.load(d + "/stub_heat.npy")[None])], meta)
    res["stub_size"] = np.array(meta["sizes"][0])
    np.savez(d + "/out.npz", **res)
    print("standalone ok", sorted(m for m in ("mxnet", "gluonpose")
                                  if sys.modules.get(m) is not None))
""")


class _StubNet(mx.gluon.Block):
    """Answers any input with fixed (PAF, heatmap) maps in every stage's slot."""

    def __init__(self, paf, heat, **kwargs):
        super().__init__(**kwargs)
        self.maps = (paf, heat)

    def forward(self, x):
        n = x.shape[0]
        paf, heat = (mx.nd.array(np.repeat(m[None], n, axis=0)) for m in self.maps)
        return tuple([paf, heat] * (len(SPEC.outputs) // 2))


def test_deployment_decoder_runs_without_gluonpose_and_matches_the_protocol(net, tmp_path):
    out = tmp_path / "deploy"
    cfg = bottom_up_deploy_config(MODEL, SIZE, SPEC, "onnx")
    written = write_deployment(net, str(out), cfg)
    assert sorted(os.listdir(out)) == ["deploy.json", "model.onnx", "paf_codec.py",
                                       "pose_decoder.py"]
    meta = load_deployment(str(out))
    assert meta == json.loads(json.dumps(written))
    assert meta["kind"] == "bottom_up" and meta["output_names"] == ["pafs", "heatmaps"]
    assert meta["input_size"] == list(SIZE) and meta["input_height"] == SIZE[0]
    assert meta["stride"] == 8 and meta["channel_order"] == SPEC.channel_order
    assert meta["mean"] == list(SPEC.mean) and meta["std"] == list(SPEC.std)
    assert meta["flip_heatmap"] == list(SPEC.flip_heatmap)
    assert meta["paf_flip_channels"] == [list(v) for v in SPEC.paf_flip_channels()]
    assert meta["test_scales"] == list(SPEC.test_scales)
    assert PAFCodec(**meta["codec"]).__dict__.keys() == default_paf_codec(SPEC).__dict__.keys()
    assert meta["codec"]["sigma"] == default_paf_codec(SPEC).sigma
    assert set(meta["files"]["sha1"]) == {"model.onnx", "pose_decoder.py", "paf_codec.py"}
    # the shipped files import numpy, OpenCV, the standard library and each other only
    for name, want in (("pose_decoder.py", {"json", "os", "cv2", "numpy", "paf_codec"}),
                       ("paf_codec.py", {"math", "cv2", "numpy"})):
        src = (out / name).read_text()
        imports = {l.split()[1] for l in src.splitlines() if l.startswith(("import ", "from "))}
        assert imports == want, (name, imports)

    coco = coco_api()
    image_id = sorted(coco.getImgIds())[0]
    from gluonpose.inference.sources import read_image
    image = read_image(os.path.join(mini_coco_root(), "train2017",
                                    coco.imgs[image_id]["file_name"]))
    crowd, people = _crowded(coco)
    codec = default_paf_codec(SPEC)
    # ground-truth maps of the crowded image at its scale-1 input (what a perfect net gives)
    crowd_inputs, crowd_meta = bottom_up_inputs(crowd, SPEC, (1.0,), STUB_HEIGHT)
    joints, size = codec.image_to_input(people, crowd.shape[:2], crowd_meta["multipliers"][0])
    stub_heat, stub_paf, _ = codec.encode(joints, crowd_inputs[0].shape[1:])
    for k, v in dict(image=image, crowd=crowd, stub_paf=stub_paf, stub_heat=stub_heat).items():
        np.save(tmp_path / (k + ".npy"), v)
    script = tmp_path / "run.py"
    script.write_text(STANDALONE)
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(out)] + site), PYTHONNOUSERSITE="1")
    proc = subprocess.run([sys.executable, "-S", str(script), str(out), str(tmp_path),
                           str(STUB_HEIGHT)], cwd=str(tmp_path), env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "standalone ok []" in proc.stdout
    res = np.load(tmp_path / "out.npz")

    for flip in (False, True):
        tag = "_flip" if flip else ""
        # the decoder's input is the library's (and the mirrored one second)
        inputs, _ = bottom_up_inputs(image, SPEC, (1.0,), SIZE[0])
        x = inputs[0]
        want = np.stack([x, x[:, :, ::-1]]) if flip else x[None]
        np.testing.assert_allclose(res["batch" + tag], want, rtol=0, atol=1e-6)
        # the runtime's outputs are the Gluon net's
        ref_paf, ref_heat = _decoded(net, want)
        assert np.abs(res["out_paf" + tag] - ref_paf).max() <= 1e-4
        assert np.abs(res["out_heat" + tag] - ref_heat).max() <= 1e-4
        # merged maps at image resolution and people: the library protocol's
        heat, paf = bottom_up_maps(net, SPEC, image, (1.0,), flip, codec, input_size=SIZE[0])
        assert res["heat" + tag].shape == heat.shape == (19,) + image.shape[:2]
        assert np.abs(res["heat" + tag] - heat).max() <= 1e-4
        assert np.abs(res["paf" + tag] - paf).max() <= 1e-4
        kp, scores = predict_bottom_up(net, SPEC, image, scales=(1.0,), flip=flip, codec=codec,
                                       input_size=SIZE[0])
        assert res["kp" + tag].shape == kp.shape
        np.testing.assert_allclose(res["kp" + tag], kp, atol=1e-4)
        np.testing.assert_allclose(res["scores" + tag], scores, rtol=1e-5)
    np.testing.assert_array_equal(res["run_kp"], res["kp"])

    # ground-truth maps: the same people as predict_bottom_up with a stub giving those maps
    kp, scores = predict_bottom_up(_StubNet(stub_paf, stub_heat), SPEC, crowd, scales=(1.0,),
                                   codec=codec, input_size=STUB_HEIGHT)
    assert tuple(res["stub_size"]) == tuple(crowd_meta["sizes"][0]) == tuple(size)
    assert len(kp) >= 2 and res["stub_kp"].shape == kp.shape
    np.testing.assert_allclose(res["stub_kp"], kp, atol=1e-4)
    np.testing.assert_allclose(res["stub_scores"], scores, rtol=1e-5)


# ----------------------------------------------------------------------------- CLI

def test_cli_export_bottom_up(params_file, tmp_path, capsys):
    import onnxruntime as ort
    out = tmp_path / "dep"
    rc, stdout, err = export_cli(capsys, "--model", MODEL, "--params-file", params_file,
                           "--input-size", "64,64", "--output", str(out))
    assert rc == 0, err
    assert "bottom-up" in stdout
    meta = load_deployment(str(out))
    assert meta["kind"] == "bottom_up" and meta["source_params"] == "light.params"
    assert meta["input_height"] == 64 and meta["dynamic_size"] is True
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["pafs", "heatmaps"]


@pytest.mark.parametrize("case", ["odd_size", "bad_size", "int8", "codec", "missing"])
def test_cli_export_bottom_up_errors_are_one_line(case, params_file, tmp_path, capsys):
    assert_one_line_export_error(case, capsys, tmp_path, MODEL, params_file, "64,64", "60,64", 8)
