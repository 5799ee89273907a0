"""``gluonpose predict`` / ``scripts/demo.py``: outputs, exit codes, bad input; drawing."""
import json
import os
import shutil
import subprocess
import sys

import cv2
import matplotlib
import mxnet as mx
import numpy as np
import pytest

matplotlib.use("Agg")

from gluonpose.cli import main  # noqa: E402
from gluonpose.data import mini_coco_root  # noqa: E402
from gluonpose.data.schema import COCO_PERSON  # noqa: E402
from gluonpose.inference.cli import demo_main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(mini_coco_root(), "train2017")


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    from gluonpose.model_zoo import get_model
    mx.random.seed(3)
    net = get_model("simple_pose_resnet18_v1b")
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 128, 96)))
    path = str(tmp_path_factory.mktemp("w") / "net.params")
    net.save_parameters(path)
    return path


@pytest.fixture
def image():
    return os.path.join(IMAGES, sorted(os.listdir(IMAGES))[0])


def _run(capsys, *argv):
    code = main(["predict", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _opts(params):
    return ["--params", params, "--input-size", "128,96", "--no-progress"]


def _one_error_line(err, *needles):
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("gluonpose: error: "), err
    for n in needles:
        assert n in lines[0], err


# ----------------------------------------------------------------------------- outputs

@pytest.mark.parametrize("backend", ["cv", "mpl"])
def test_image_annotated_and_results_json(capsys, tmp_path, params, image, backend):
    out_dir, res = tmp_path / "out", tmp_path / "res.json"
    code, out, err = _run(capsys, image, *_opts(params), "--output-dir", str(out_dir),
                          "--results-json", str(res), "--boxes", "120,40,60,80;20,20,90,200",
                          "--show-backend", backend)
    assert code == 0, err
    drawn = cv2.imread(str(out_dir / os.path.basename(image)))
    orig = cv2.imread(image)
    assert drawn.shape == orig.shape
    assert np.mean(np.any(np.abs(drawn.astype(int) - orig) > 40, axis=2)) > 0.001   # drawn on
    entries = json.load(open(res))
    assert len(entries) >= 1 and entries[0]["image_id"] == int(os.path.basename(image)[:-4])
    assert entries[0]["file_name"] == os.path.basename(image)
    assert "2 people" in out or "1 person" in out     # OKS-NMS may merge overlapping boxes


def test_video_annotated_with_progress(capsys, tmp_path, params, image):
    img = cv2.imread(image)[:240, :320]
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 240))
    for _ in range(4):
        writer.write(img)
    writer.release()
    out_dir = tmp_path / "out"
    code = main(["predict", str(video), "--params", params, "--input-size", "128,96",
                 "--output-dir", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "4 frames" in out and "predict" in err          # tqdm bar on stderr
    cap = cv2.VideoCapture(str(out_dir / "walk_pose.mp4"))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 4 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 320
    assert [f for f in os.listdir(out_dir) if f.startswith(".tmp")] == []


def test_folder_skips_unreadable_files(capsys, tmp_path, params):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for n in sorted(os.listdir(IMAGES))[:2]:
        shutil.copy(os.path.join(IMAGES, n), folder / n)
    (folder / "zz_broken.png").write_bytes(b"\x89PNG garbage")
    code, out, err = _run(capsys, str(folder), *_opts(params))
    assert code == 0
    assert out.count(": 1 person") == 2
    assert "warning: skipped" in err and "zz_broken.png" in err
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "a.jpg").write_bytes(b"nope")
    code, out, err = _run(capsys, str(only_bad), *_opts(params))
    assert code == 1 and "no readable image" in err


def test_det_file_with_no_boxes_is_an_empty_result(capsys, tmp_path, params, image):
    det = tmp_path / "det.json"
    det.write_text("[]")
    res = tmp_path / "r.json"
    code, out, err = _run(capsys, image, *_opts(params), "--det-file", str(det),
                          "--results-json", str(res))
    assert code == 0 and ": 0 people" in out
    assert json.load(open(res)) == []


# ----------------------------------------------------------------------------- bad input

def test_bad_input_exit_codes(capsys, tmp_path, params):
    cases = []
    missing = str(tmp_path / "missing.jpg")
    cases.append(([missing], ("missing.jpg", "no such file")))
    not_image = tmp_path / "text.jpg"
    not_image.write_text("hello")
    cases.append(([str(not_image)], ("text.jpg", "not a readable image")))
    bad_video = tmp_path / "broken.avi"
    bad_video.write_bytes(b"\x00" * 1000)
    cases.append(([str(bad_video)], ("broken.avi", "cannot open as a video")))
    cases.append((["webcam:97"], ("webcam:97", "cannot open camera")))
    cases.append((["--webcam", "97"], ("webcam:97", "cannot open camera")))
    cases.append(([os.path.join(IMAGES, os.listdir(IMAGES)[0]), "--boxes", "1,2,3"],
                  ("--boxes", "four numbers")))
    for argv, needles in cases:
        code, out, err = _run(capsys, *argv, *_opts(params))
        assert code == 1, argv
        _one_error_line(err, *needles)
    code, out, err = _run(capsys, os.path.join(IMAGES, os.listdir(IMAGES)[0]), "--params",
                          str(tmp_path / "nope.params"), "--no-progress")
    assert code == 1
    _one_error_line(err, "nope.params", "not found")


def test_cli_exit_status_in_a_real_process(tmp_path):
    """Exit 1 and exactly one stderr line, OpenCV's own log lines included (fd level)."""
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage")
    proc = subprocess.run([sys.executable, "-m", "gluonpose", "predict", "webcam:97"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1
    _one_error_line(proc.stderr, "webcam:97", "cannot open camera")
    proc = subprocess.run([sys.executable, "-m", "gluonpose", "predict", str(bad)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1
    _one_error_line(proc.stderr, "bad.mp4", "cannot open as a video")


def test_demo_script_takes_gluoncv_names(capsys, tmp_path, params, image):
    out_dir = tmp_path / "demo"
    code = demo_main(["--input-pic", image, "--pose-model", "simple_pose_resnet18_v1b",
                      "--params", params, "--input-size", "128,96", "--output-dir",
                      str(out_dir), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert os.path.isfile(out_dir / os.path.basename(image))
    assert demo_main([]) == 1 and "SOURCE" in capsys.readouterr().err


# ----------------------------------------------------------------------------- drawing

def _gluoncv_style_inputs():
    coords = np.zeros((2, 17, 2), np.float32)
    coords[:, :, 0] = np.linspace(10, 90, 17)
    coords[:, :, 1] = np.linspace(20, 80, 17)
    coords[1] += 5
    conf = np.full((2, 17, 1), 0.9, np.float32)
    conf[0, [0, 5]] = 0.1                      # person 0: nose and left shoulder hidden
    ids = mx.nd.array([[[0], [0], [3]]])
    scores = mx.nd.array([[[0.9], [0.4], [0.95]]])
    boxes = mx.nd.array([[[5, 5, 60, 90], [30, 10, 95, 95], [0, 0, 10, 10]]])
    return coords, conf, ids, boxes, scores


def test_plot_keypoints_matches_gluoncv_counts():
    import matplotlib.pyplot as plt
    from gluonpose.utils.viz import plot_keypoints
    img = np.zeros((100, 100, 3), np.uint8)
    coords, conf, ids, boxes, scores = _gluoncv_style_inputs()
    ax = plot_keypoints(img, mx.nd.array(coords), mx.nd.array(conf), ids, boxes, scores,
                        box_thresh=0.5, keypoint_thresh=0.2)
    links = np.asarray(COCO_PERSON.skeleton)
    vis = conf[:, :, 0] > 0.2
    expected = int(sum((v[links[:, 0]] & v[links[:, 1]]).sum() for v in vis))
    assert len(ax.lines) == expected
    assert len(ax.patches) == 1                  # one person box passes box_thresh
    # with GluonCV's 16 links as the schema's skeleton, GluonCV draws the same lines and boxes
    from gluonpose.data.schema import KeypointSchema
    gcv_links = [(0, 1), (1, 3), (0, 2), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
                 (5, 11), (6, 12), (11, 12), (11, 13), (12, 14), (13, 15), (14, 16)]
    schema = KeypointSchema("gcv16", COCO_PERSON.keypoints, skeleton=gcv_links,
                            sigmas=COCO_PERSON.sigmas)
    ax = plot_keypoints(img, coords, conf, ids, boxes, scores, schema=schema)
    gviz = pytest.importorskip("gluoncv.utils.viz")
    gax = gviz.plot_keypoints(img, mx.nd.array(coords), mx.nd.array(conf), ids, boxes, scores,
                              box_thresh=0.5, keypoint_thresh=0.2)
    assert len(gax.lines) == len(ax.lines) == 27
    assert len(gax.patches) == len(ax.patches)
    for mine, theirs in zip(ax.lines, gax.lines):        # same segments, same colours
        np.testing.assert_allclose(mine.get_xydata(), theirs.get_xydata())
        assert mine.get_color() == theirs.get_color()
    plt.close("all")


def test_cv_plot_keypoints_colours_links_from_the_schema():
    from matplotlib import cm
    from gluonpose.utils.viz import cv_plot_keypoints
    img = np.zeros((100, 100, 3), np.uint8)
    coords = np.zeros((1, 17, 2), np.float32)
    conf = np.zeros((1, 17, 1), np.float32)
    a, b = COCO_PERSON.skeleton[3]
    coords[0, a], coords[0, b] = (20, 50), (80, 50)
    conf[0, [a, b]] = 0.9
    out = cv_plot_keypoints(img, coords, conf, None, None, None, keypoint_thresh=0.2)
    assert not out.base is img and img.max() == 0          # input untouched
    expected = np.array(cm.cool(3 / (len(COCO_PERSON.skeleton) - 1))[:3]) * 255
    np.testing.assert_allclose(out[50, 50], expected, atol=1.5)
    assert out[20, 50].max() == 0                            # nothing off the link
