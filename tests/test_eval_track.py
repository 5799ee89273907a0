"""``gluonpose eval-track`` and the per-frame tracking json (gluonpose.tracking.io):
hand-counted switches, misses and false positives through the command line, one-line
errors on bad files, and the json written from tracked FrameResults read back unchanged."""
import copy
import json
import os

import numpy as np
import pytest

pytest.importorskip("motmetrics")

from gluonpose.cli import main  # noqa: E402
from gluonpose.inference.results import FrameResult, PersonPose  # noqa: E402
from gluonpose.tracking.io import read_track_json, write_track_json  # noqa: E402


def _kp(cx, cy, size=40.0):
    """A 17-joint pose spread over a ``size`` square around ``(cx, cy)``, all visible."""
    grid = np.linspace(-size / 2, size / 2, 17)
    return np.stack([cx + grid, cy + grid[::-1] * 0.5, np.full(17, 2.0)], 1)


def _person(track_id, cx, cy):
    return {"track_id": track_id, "keypoints": _kp(cx, cy).reshape(-1).tolist(),
            "box": [cx - 20.0, cy - 20.0, cx + 20.0, cy + 20.0]}


def _walkers(num_frames=4):
    """Two people 200 px apart walking right: 2 x num_frames ground-truth objects."""
    return {"schema": "coco",
            "frames": [{"frame": f, "people": [_person(1, 50 + 5 * f, 100),
                                               _person(2, 50 + 5 * f, 300)]}
                       for f in range(num_frames)]}


def _write(tmp_path, name, obj):
    path = str(tmp_path / name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def _table(out):
    """``{label: value text}`` of the printed markdown table."""
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("| ")]
    return {k.strip(): v.strip() for k, v in rows if k.strip() != "metric"}


def test_switch_miss_and_false_positive_hand_counted(tmp_path, capsys):
    gt = _walkers()
    pred = copy.deepcopy(gt)
    pred["frames"][1]["people"].append(_person(7, 400, 500))   # nobody there: 1 FP
    del pred["frames"][2]["people"][1]                         # person 2 unseen: 1 miss
    pred["frames"][3]["people"][0]["track_id"] = 9             # person 1 renamed: 1 switch
    out_json = str(tmp_path / "m.json")
    code = main(["eval-track", _write(tmp_path, "gt.json", gt),
                 _write(tmp_path, "pred.json", pred), "--json", out_json])
    out = capsys.readouterr().out
    assert code == 0
    assert "OKS >= 0.5" in out and "coco sigmas" in out
    table = _table(out)
    # 8 objects, 1 miss + 1 FP + 1 switch: MOTA 1 - 3/8; 7 matches of 8 on both sides
    assert table["MOTA"] == "0.6250"
    assert (table["ID switches"], table["misses"], table["false positives"]) == ("1", "1", "1")
    assert table["precision"] == table["recall"] == "0.8750"
    # IDF1 = 2 IDTP / (8 + 8): the best id mapping (1->1, 2->2) covers frames 0-2 of
    # person 1 and frames 0, 1, 3 of person 2, IDTP = 6
    assert table["IDF1"] == "0.7500"
    assert table["mean OKS (matched)"] == "1.0000"
    saved = json.load(open(out_json))
    assert saved["metrics"]["num_switches"] == 1 and saved["metrics"]["mota"] == 0.625
    assert saved["protocol"]["oks_threshold"] == 0.5 and saved["protocol"]["schema"] == "coco"


def test_swapped_ids_count_one_switch_per_person(tmp_path, capsys):
    gt = _walkers(6)
    pred = copy.deepcopy(gt)
    for fr in pred["frames"][3:]:
        for p in fr["people"]:
            p["track_id"] = 3 - p["track_id"]
    assert main(["eval-track", _write(tmp_path, "gt.json", gt),
                 _write(tmp_path, "pred.json", pred)]) == 0
    table = _table(capsys.readouterr().out)
    # each person changes predicted id once (motmetrics counts per ground-truth person)
    assert table["ID switches"] == "2" and table["MOTA"] == "%.4f" % (1 - 2 / 12)
    assert table["misses"] == table["false positives"] == "0"


def test_oks_threshold_decides_the_match(tmp_path, capsys):
    gt = _walkers(1)
    pred = copy.deepcopy(gt)
    kp = _kp(56, 100)                                # person 1 predicted 6 px off
    pred["frames"][0]["people"][0]["keypoints"] = kp.reshape(-1).tolist()
    gt_path, pred_path = _write(tmp_path, "gt.json", gt), _write(tmp_path, "pred.json", pred)
    assert main(["eval-track", gt_path, pred_path, "--oks-threshold", "0.99"]) == 0
    strict = _table(capsys.readouterr().out)
    assert main(["eval-track", gt_path, pred_path, "--oks-threshold", "0.3"]) == 0
    loose = _table(capsys.readouterr().out)
    assert (strict["misses"], strict["false positives"]) == ("1", "1")
    assert (loose["misses"], loose["false positives"]) == ("0", "0")
    assert float(loose["mean OKS (matched)"]) < 1.0


@pytest.mark.parametrize("content,needle", [
    (None, "no such file"),
    ("{not json", "not valid json"),
    ({"people": []}, "expected an object with a 'frames' list"),
    ({"frames": [{"frame": 0}]}, "frame #0 is not an object with a 'people' list"),
    ({"frames": [{"frame": 0, "people": [{"track_id": 1, "keypoints": [1.0] * 48}]}]},
     "frame 0, person #0: 'keypoints' must be a flat list of 51 numbers"),
    ({"frames": [{"frame": 0, "people": [{"track_id": "a", "keypoints": [1.0] * 51}]}]},
     "has track_id 'a'"),
    ({"frames": [{"frame": 0, "people": [_person(1, 0, 0), _person(1, 50, 0)]}]},
     "track_id 1 appears twice"),
    ({"frames": [{"frame": 0, "people": []}, {"frame": 0, "people": []}]},
     "frame 0 is listed twice"),
])
def test_bad_prediction_file_is_one_line_naming_it(tmp_path, capsys, content, needle):
    gt = _write(tmp_path, "gt.json", _walkers(2))
    pred = str(tmp_path / "pred.json")
    if content is not None:
        _write(tmp_path, "pred.json", content)
    out_json = str(tmp_path / "m.json")
    assert main(["eval-track", gt, pred, "--json", out_json]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gluonpose: error: %s: " % pred), lines
    assert needle in lines[0]
    assert captured.out == "" and not os.path.exists(out_json)


def test_bad_options_and_gt_file(tmp_path, capsys):
    gt = _write(tmp_path, "gt.json", _walkers(2))
    bad = _write(tmp_path, "bad.json", [1, 2])
    assert main(["eval-track", bad, gt]) == 1
    assert capsys.readouterr().err.startswith("gluonpose: error: %s: frame #0 " % bad)
    assert main(["eval-track", gt, gt, "--oks-threshold", "0"]) == 1
    assert "--oks-threshold must be in (0, 1]" in capsys.readouterr().err
    assert main(["eval-track", gt, gt, "--schema", "nope"]) == 1
    assert "unknown keypoint schema 'nope'" in capsys.readouterr().err
    # the mpii schema has 16 joints: the 17-joint files no longer fit it
    assert main(["eval-track", gt, gt, "--schema", "mpii"]) == 1
    assert "flat list of 48 numbers" in capsys.readouterr().err


def _tracked_frames():
    frames = []
    for f in range(3):
        people = [PersonPose(_kp(50 + 5 * f, 100).astype(np.float32),
                             np.array([30.0, 80, 80, 120]), 0.9, 0.8, f, track_id=1),
                  PersonPose(_kp(50, 300 - f).astype(np.float32),
                             np.array([30.0, 280, 80, 320]), 1.0, 0.7, f, track_id=4)]
        frames.append(FrameResult(people[:2 - (f == 1)], image_id=100 + f,
                                  name="clip.mp4#%d" % f, index=f))
    return frames


def test_write_read_round_trip_and_scores_itself(tmp_path, capsys):
    frames = _tracked_frames()
    path = str(tmp_path / "sub" / "tracks.json")
    assert write_track_json(path, frames) == path
    assert [n for n in os.listdir(tmp_path / "sub")] == ["tracks.json"]   # no temporary left
    data = read_track_json(path)
    assert data["format"] == "gluonpose-track" and data["schema"] == "coco"
    assert len(data["keypoint_names"]) == 17
    assert [f["frame"] for f in data["frames"]] == [0, 1, 2]
    assert [f["image_id"] for f in data["frames"]] == [100, 101, 102]
    assert data["frames"][1]["file_name"] == "clip.mp4#1"
    assert [[p["track_id"] for p in f["people"]] for f in data["frames"]] == [[1, 4], [1], [1, 4]]
    p = data["frames"][2]["people"][0]
    np.testing.assert_allclose(np.reshape(p["keypoints"], (17, 3)), _kp(60, 100), atol=1e-3)
    assert p["box"] == [30.0, 80.0, 80.0, 120.0] and p["score"] == pytest.approx(0.8)
    # the same reader serves ground truth and results: the file scores itself perfectly
    assert main(["eval-track", path, path]) == 0
    table = _table(capsys.readouterr().out)
    assert table["MOTA"] == "1.0000" and table["ID switches"] == "0"


def test_untracked_people_are_refused(tmp_path):
    frames = _tracked_frames()
    frames[1][0].track_id = None
    path = str(tmp_path / "tracks.json")
    with pytest.raises(ValueError, match="no track_id"):
        write_track_json(path, frames)
    assert not os.path.exists(path) and os.listdir(tmp_path) == []


def test_track_metrics_reads_whole_documents():
    """A ground-truth file or a written track file can be passed as it is."""
    from gluonpose.tracking import track_metrics
    person = {"track_id": 1, "keypoints": [10.0 * j for j in range(51)],
              "box": [0, 0, 200, 200]}
    frames = [{"frame": 0, "people": [person]}, {"frame": 1, "people": [person]}]
    whole = track_metrics({"format": "x", "frames": frames}, {"frames": frames})
    assert whole == track_metrics(frames, frames)
    assert whole["num_matches"] == 2 and whole["mota"] == 1.0
