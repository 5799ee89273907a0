"""Export: symbol round trip, ONNX parity with onnxruntime, the numpy-only decoder, CLI."""
import json
import os
import subprocess
import sys
import textwrap

import cv2
import mxnet as mx
import numpy as np
import pytest

from gluonpose.cli import main
from gluonpose.codecs import flip_merge, get_codec
from gluonpose.data import mini_coco
from gluonpose.data.schema import get_schema
from gluonpose.data.transforms.pose import boxes_to_center_scale
from gluonpose.data.transforms.presets.simple_pose import SimplePoseDefaultValTransform
from gluonpose.deploy import numpy_decoder as npd
from gluonpose.deploy.export import (deploy_config, export_onnx, export_symbol, load_deployment,
                                     load_symbol, random_input, write_deployment)
from gluonpose.model_zoo import get_model

MODEL = "simple_pose_resnet18_v1b"
SIZE = (128, 96)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
COCO = get_schema("coco")


def _random_net(seed=0):
    """resnet18 simple pose, seeded, with non-trivial BN statistics and O(1) heatmaps.

    The default head init (Normal(0.001)) gives heatmaps of ~1e-3, which would
    make a 1e-4 parity bound meaningless; BN statistics are randomised so the
    exported BatchNormalization nodes are exercised with real values.
    """
    mx.random.seed(seed)
    net = get_model(MODEL)
    net.initialize(mx.init.MSRAPrelu())
    rng = np.random.default_rng(seed)
    for name, p in net.collect_params().items():
        if name.endswith("running_mean") or name.endswith("beta"):
            p.set_data(mx.nd.array(rng.normal(0, 0.2, p.shape)))
        elif name.endswith("running_var") or name.endswith("gamma"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape)))
    w = net.final_layer.weight
    w.set_data(mx.nd.array(rng.normal(0, 0.05, w.shape)))
    return net


@pytest.fixture(scope="module")
def net():
    return _random_net()


@pytest.fixture(scope="module")
def params_file(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("params") / "r18.params"
    net.save_parameters(str(path))
    return str(path)


# ----------------------------------------------------------------------------- numpy decoder

def _heatmaps(codec, rng, n):
    """Target-like maps (joints also near and beyond the border) with noise and varied peaks."""
    h, w = codec.image_size
    joints = rng.uniform(-6, [w + 6, h + 6], size=(n, 17, 2))
    hm, _ = codec.encode(joints, np.ones((n, 17)))
    hm = hm * rng.uniform(0.2, 1.0, (n, 17, 1, 1)) + rng.normal(0, 0.02, hm.shape)
    return hm.astype(np.float32)


@pytest.mark.parametrize("name", ["msra", "unbiased"])
@pytest.mark.parametrize("sigma", [1, 1.5, 2, 3])
def test_numpy_decoder_equals_library_codec(name, sigma):
    rng = np.random.default_rng(int(sigma * 10) + len(name))
    codec = get_codec(name, image_size=SIZE, sigma=sigma)
    n = 24
    hm = _heatmaps(codec, rng, n)
    hm_flip = (hm[:, COCO.flip_index, :, ::-1] + rng.normal(0, 0.02, hm.shape)).astype(np.float32)
    xy = rng.uniform(0, 300, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(10, 250, (n, 2))], axis=1)
    center, scale = boxes_to_center_scale(boxes, SIZE[1] / SIZE[0])
    c2, s2 = npd.boxes_to_center_scale(boxes, SIZE[1] / SIZE[0])
    np.testing.assert_array_equal(c2, center)
    np.testing.assert_array_equal(s2, scale)
    for flip in (False, True):
        lib_in = flip_merge(hm, hm_flip, COCO.flip_index, shift=True) if flip else hm
        ref, ref_val = codec.decode(lib_in, center, scale)
        np_in = npd.flip_merge(hm, hm_flip, COCO.flip_index) if flip else hm
        out, val = npd.decode(np_in, center, scale, name, sigma)
        assert np.abs(out - ref).max() <= 1e-4, (name, sigma, flip)
        np.testing.assert_array_equal(val, ref_val)
        # the decoded joints really move: MSRA steps by quarters, DARK off the grid
        frac = codec.decode_heatmap(lib_in)[0] % 1
        assert (frac != 0).mean() > 0.5


def test_numpy_decoder_equals_library_integral_codec():
    rng = np.random.default_rng(7)
    codec = get_codec("integral", image_size=SIZE)
    n = 16
    target, _ = codec.encode(rng.uniform(0, [SIZE[1], SIZE[0]], (n, 17, 2)), np.ones((n, 17)))
    logits = codec.render_logits(target) + rng.normal(0, 0.5, (n, 17) + codec.heatmap_size)
    logits = logits.astype(np.float32)
    xy = rng.uniform(0, 300, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(10, 250, (n, 2))], axis=1)
    center, scale = boxes_to_center_scale(boxes, SIZE[1] / SIZE[0])
    ref, ref_val = codec.decode(logits, center, scale)
    out, val = npd.decode(logits, center, scale, "integral")
    assert np.abs(out - ref).max() <= 1e-3
    np.testing.assert_allclose(val, ref_val, rtol=1e-6)


def test_numpy_gaussian_kernel_is_opencvs():
    for size in range(1, 32, 2):
        ref = cv2.getGaussianKernel(size, 0, cv2.CV_64F).ravel()
        np.testing.assert_allclose(npd.gaussian_kernel(size), ref, rtol=0, atol=1e-15)


def test_numpy_crop_matches_val_transform():
    """Same centre/scale as the library; pixels within OpenCV's fixed-point rounding."""
    ds = mini_coco(image_format="numpy")
    transform = SimplePoseDefaultValTransform(None, image_size=SIZE, mean=MEAN, std=STD)
    dec = npd.PoseDecoder(dict(input_size=SIZE, mean=MEAN, std=STD, codec="msra", sigma=2,
                               flip_index=COCO.flip_index.tolist()))
    diffs = []
    for i in (0, 7, 30, 61):
        img, label, img_id = ds[i]
        ref, scale, center, _, _ = transform(img, label, img_id)
        batch, c, s = dec.preprocess(img, np.array([label["bbox"]]))
        np.testing.assert_array_equal(c[0], center)
        np.testing.assert_array_equal(s[0], scale)
        # back to grey levels (0..255) to compare
        d = np.abs(batch[0] - ref.asnumpy()) * np.array(STD)[:, None, None] * 255
        diffs.append((d.mean(), d.max()))
    diffs = np.array(diffs)
    assert diffs[:, 0].max() < 0.6        # measured 0.26 on average over the mini set
    assert diffs[:, 1].max() < 8          # sharp edges; OpenCV samples on a 1/32 px grid


# ----------------------------------------------------------------------------- symbol / ONNX

def test_symbol_export_round_trip(net, tmp_path):
    x = mx.nd.array(random_input(SIZE, 2, seed=1))
    ref = net(x).asnumpy()
    sym, params = export_symbol(net, str(tmp_path / "m"), SIZE)
    assert os.path.isfile(sym) and os.path.isfile(params)
    back = load_symbol(str(tmp_path / "m"))
    assert isinstance(back, mx.gluon.SymbolBlock)
    np.testing.assert_allclose(back(x).asnumpy(), ref, rtol=0, atol=1e-6)


def test_onnx_parity_dynamic_batch(net, tmp_path):
    import onnx
    import onnxruntime as ort
    path = export_onnx(net, str(tmp_path / "m.onnx"), SIZE, dynamic_batch=True)
    model = onnx.load(path)
    assert model.opset_import[0].version == 13 and model.ir_version == 7
    assert [i.name for i in model.graph.input] == ["data"]     # weights are not inputs
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == ["batch", 3, SIZE[0], SIZE[1]]
    assert sess.get_outputs()[0].name == "heatmaps"
    for batch in (1, 3):
        x = random_input(SIZE, batch, seed=batch)
        ref = net(mx.nd.array(x)).asnumpy()
        out = sess.run(None, {"data": x})[0]
        assert out.shape == (batch, 17, SIZE[0] // 4, SIZE[1] // 4)
        assert ref.std() > 0.05                   # heatmaps of order 1, not ~1e-3
        assert np.abs(out - ref).max() <= 1e-4


STANDALONE = textwrap.dedent("""
    import sys
    for name in ("mxnet", "cv2", "gluonpose", "PIL"):
        sys.modules[name] = None              # importing any of them now fails
    import numpy as np
    import onnxruntime as ort
    import pose_decoder
    assert pose_decoder.__file__.startswith(sys.argv[1])
    d = sys.argv[2]
    dec = pose_decoder.PoseDecoder.from_folder(sys.argv[1])
    sess = ort.InferenceSession(sys.argv[1] + "/model.onnx", providers=["CPUExecutionProvider"])
    crops, center, scale = (np.load(d + "/" + k + ".npy") for k in ("crops", "center", "scale"))
    hm = sess.run(None, {"data": crops})[0]
    hm_flip = sess.run(None, {"data": np.ascontiguousarray(crops[..., ::-1])})[0]
    coords, scores = dec.postprocess(hm, center, scale)
    coords_f, _ = dec.postprocess(hm, center, scale, flipped_heatmaps=hm_flip)
    batch, c2, s2 = dec.preprocess(np.load(d + "/image.npy"), np.load(d + "/boxes.npy"))
    e2e, _ = dec.run(sess, np.load(d + "/image.npy"), np.load(d + "/boxes.npy"), flip=True)
    np.savez(d + "/out.npz", hm=hm, hm_flip=hm_flip, coords=coords, coords_f=coords_f,
             scores=scores, batch=batch, e2e=e2e)
    print("standalone ok", sorted(m for m in ("mxnet", "cv2", "gluonpose")
                                  if sys.modules.get(m) is not None))
""")


def test_onnx_deployment_runs_with_numpy_and_onnxruntime_only(net, tmp_path):
    out = tmp_path / "deploy"
    cfg = deploy_config(MODEL, SIZE, "unbiased", 2, COCO, MEAN, STD, "onnx")
    written = write_deployment(net, str(out), cfg)
    assert sorted(os.listdir(out)) == ["deploy.json", "model.onnx", "pose_decoder.py"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
    meta = load_deployment(str(out))
    assert meta == json.loads(json.dumps(written))
    assert meta["input_size"] == list(SIZE) and meta["codec"] == "unbiased"
    assert meta["flip_index"] == COCO.flip_index.tolist()
    assert meta["keypoints"] == list(COCO.keypoints) and len(meta["skeleton"]) == 19
    # the shipped decoder imports nothing but numpy and the standard library
    src = open(out / "pose_decoder.py").read()
    imports = {l.split()[1] for l in src.splitlines() if l.startswith(("import ", "from "))}
    assert imports == {"json", "os", "numpy"}

    # inputs: one mini-COCO image with two boxes, cropped by the library
    ds = mini_coco(image_format="numpy")
    img, label, img_id = ds[3]
    boxes = np.array([label["bbox"], label["bbox"]], dtype=np.float64)
    boxes[1] += [5, -3, 12, 4]                  # a second, different box
    transform = SimplePoseDefaultValTransform(None, image_size=SIZE, mean=MEAN, std=STD)
    crops, centers, scales = [], [], []
    for b in boxes:
        t = transform(img, {"bbox": tuple(b)}, img_id)
        crops.append(t[0].asnumpy())
        scales.append(t[1])
        centers.append(t[2])
    crops, centers, scales = np.stack(crops), np.stack(centers), np.stack(scales)
    for k, v in dict(crops=crops, center=centers, scale=scales, image=img, boxes=boxes).items():
        np.save(tmp_path / (k + ".npy"), v)
    script = tmp_path / "run.py"
    script.write_text(STANDALONE)
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(out)] + site), PYTHONNOUSERSITE="1")
    # -I: isolated (no cwd, no PYTHONPATH) would drop the deploy folder, so -S + explicit path
    proc = subprocess.run([sys.executable, "-S", str(script), str(out), str(tmp_path)],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "standalone ok []" in proc.stdout
    res = np.load(tmp_path / "out.npz")

    # the runtime's heatmaps are the Gluon net's
    ref_hm = net(mx.nd.array(crops)).asnumpy()
    ref_flip = net(mx.nd.array(crops[..., ::-1].copy())).asnumpy()
    assert np.abs(res["hm"] - ref_hm).max() <= 1e-4
    assert np.abs(res["hm_flip"] - ref_flip).max() <= 1e-4
    # the standalone decoder's coordinates are the library codec's on the same heatmaps
    codec = get_codec("unbiased", image_size=SIZE, sigma=2)
    ref, ref_val = codec.decode(res["hm"], centers, scales)
    assert np.abs(res["coords"] - ref).max() <= 1e-4
    np.testing.assert_array_equal(res["scores"], ref_val)
    merged = flip_merge(res["hm"], res["hm_flip"], COCO.flip_index, shift=True)
    assert np.abs(res["coords_f"] - codec.decode(merged, centers, scales)[0]).max() <= 1e-4
    # numpy crops of the raw image stay within OpenCV's rounding of the library's crops
    grey = np.abs(res["batch"] - crops) * np.array(STD)[:, None, None] * 255
    assert grey.mean() < 0.6
    assert res["e2e"].shape == (2, 17, 2) and np.isfinite(res["e2e"]).all()


# ----------------------------------------------------------------------------- CLI

def _cli(capsys, *args):
    rc = main(["export"] + list(args))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_export_onnx_fixed_batch(params_file, tmp_path, capsys):
    import onnxruntime as ort
    out = tmp_path / "dep"
    rc, stdout, err = _cli(capsys, "--model", MODEL, "--params", params_file, "--input-size",
                           "128,96", "--format", "onnx", "--fixed-batch", "2", "--codec",
                           "unbiased", "--sigma", "1.5", "--output", str(out))
    assert rc == 0, err
    assert "exported" in stdout
    meta = load_deployment(str(out))
    assert meta["sigma"] == 1.5 and meta["dynamic_batch"] is False
    assert meta["files"]["sha1"].keys() == {"model.onnx", "pose_decoder.py"}
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [2, 3, 128, 96]
    # an existing non-empty folder is refused, then replaced with --overwrite
    rc, _, err = _cli(capsys, "--model", MODEL, "--params", params_file, "--input-size",
                      "128,96", "--format", "symbol", "--output", str(out))
    assert rc == 1 and "not empty" in err
    rc, _, err = _cli(capsys, "--model", MODEL, "--params", params_file, "--input-size",
                      "128,96", "--format", "symbol", "--output", str(out), "--overwrite")
    assert rc == 0, err
    assert sorted(os.listdir(out)) == ["deploy.json", "model-0000.params", "model-symbol.json",
                                       "pose_decoder.py"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith((".tmp-", ".old-"))]


def test_cli_export_int8_with_report(params_file, tmp_path, capsys):
    out = tmp_path / "int8"
    rc, stdout, err = _cli(capsys, "--model", MODEL, "--params", params_file, "--input-size",
                           "64,64", "--format", "symbol", "--int8", "--num-calib-examples", "4",
                           "--report", "--output", str(out))
    assert rc == 0, err
    assert "kept in FP32" in stdout and "Deconvolution x3" in stdout
    assert "AP FP32" in stdout and "PCK@0.05" in stdout
    meta = load_deployment(str(out))
    assert meta["format"] == "symbol-int8" and meta["int8"]["calib_mode"] == "naive"
    assert meta["int8"]["fp32_ops"] == {"Deconvolution": 3}
    back = load_symbol(str(out))
    assert back(mx.nd.zeros((2, 3, 64, 64))).shape == (2, 17, 16, 16)


@pytest.mark.parametrize("case", ["missing", "mismatch", "bad_size", "odd_size", "unwritable",
                                  "int8_onnx"])
def test_cli_export_errors_are_one_line(case, params_file, tmp_path, capsys):
    args = ["--model", MODEL, "--params", params_file, "--input-size", "128,96",
            "--output", str(tmp_path / "out")]
    expect = {"missing": "no such file", "mismatch": "does not match simple_pose_resnet50_v1b",
              "bad_size": "--input-size", "odd_size": "multiples of 32",
              "unwritable": "cannot write", "int8_onnx": "--int8"}[case]
    if case == "missing":
        args[3] = str(tmp_path / "nope.params")
    elif case == "mismatch":
        args[1] = "simple_pose_resnet50_v1b"
    elif case == "bad_size":
        args[5] = "128xab"
    elif case == "odd_size":
        args[5] = "100,96"
    elif case == "unwritable":
        blocker = tmp_path / "file"
        blocker.write_text("x")
        args[7] = str(blocker / "sub" / "out")
    elif case == "int8_onnx":
        args += ["--int8", "--format", "onnx"]
    rc, _, err = _cli(capsys, *args)
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gluonpose: error: "), err
    assert expect in lines[0], lines[0]
    assert not os.path.exists(tmp_path / "out")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
