"""Model store and publish tool, against a real HTTP server on 127.0.0.1 started per test."""
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest

from gluonpose.model_zoo import model_store as ms
from gluonpose.model_zoo import publish as pub

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_PY = REPO_ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PY) if VENV_PY.exists() else sys.executable


@pytest.fixture(autouse=True)
def _isolated_store(clean_store_env):
    """Every test here runs with no store variable from the caller's shell."""
    yield


def sha1_of(path):
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def make_params(path, seed=0):
    """A small real parameter file; returns its sha1."""
    mx.nd.save(str(path), {"net.weight": mx.nd.array(np.arange(6) + seed),
                           "net.bias": mx.nd.array([seed])})
    return sha1_of(path)


def write_zip(path, members):
    """Zip of ``(ZipInfo or name, bytes)`` members, written as given (no sanitising)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)


def leftovers(root):
    """Files in the cache root other than lock files (temp files are hidden dot-files)."""
    if not Path(root).exists():
        return []
    return sorted(p for p in os.listdir(root) if not p.endswith(".lock"))


def find_evil(base, skip):
    return [p for p in Path(base).rglob("*evil*") if skip not in p.parents]


# ------------------------------------------------------------------------------------------
# table


def test_table_holds_gluoncv_hashes():
    names = ms.pretrained_model_list()
    assert len(names) == 27 and names == sorted(names)
    for name in ["simple_pose_resnet152_v1d", "mobile_pose_mobilenet1.0",
                 "alpha_pose_resnet101_v1b_coco", "resnet18_v1b", "resnet101_v1d",
                 "mobilenetv3_small", "yolo3_mobilenet1.0_coco", "ssd_512_mobilenet1.0_coco"]:
        assert name in names
    assert ms.short_hash("simple_pose_resnet18_v1b") == "f63d42ac"
    assert ms.short_hash("mobile_pose_mobilenetv3_small") == "c2a11fae"
    assert ms._model_sha1["alpha_pose_resnet101_v1b_coco"] == \
        "de56b871543847d586deeca488b5bfe1b77bb5c5"
    assert all(len(s) == 40 and int(s, 16) >= 0 for s in ms._model_sha1.values())
    with pytest.raises(ValueError, match="simple_pose_resnet18_v1b"):
        ms.short_hash("simple_pose_resnet18_v1")


# ------------------------------------------------------------------------------------------
# good downloads, cache


def test_publish_then_fetch_by_index_and_by_tag(server, tmp_path, monkeypatch):
    params = tmp_path / "trained.params"
    sha = make_params(params, seed=1)
    tag = pub.publish(params, "my_pose_net", server.dir)
    assert tag == sha[:8]
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)

    cache = tmp_path / "cache"
    path = ms.get_model_file("my_pose_net", root=str(cache))          # pretrained=True
    assert path == str(cache / ("my_pose_net-%s.params" % tag))
    assert sha1_of(path) == sha and Path(path).read_bytes() == params.read_bytes()
    assert leftovers(cache) == ["my_pose_net-%s.params" % tag]
    assert "/gluon/models/index.json" in server.requests

    cache2 = tmp_path / "cache2"
    path2 = ms.get_model_file("my_pose_net", tag=tag, root=str(cache2))  # pretrained='hash8'
    assert sha1_of(path2) == sha and path2.startswith(str(cache2))


def test_index_overrides_builtin_hash(server, tmp_path, monkeypatch):
    params = tmp_path / "finetuned.params"
    sha = make_params(params, seed=2)
    tag = pub.publish(params, "simple_pose_resnet18_v1b", server.dir)
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    path = ms.get_model_file("simple_pose_resnet18_v1b", root=str(tmp_path / "c"))
    assert os.path.basename(path) == "simple_pose_resnet18_v1b-%s.params" % tag
    assert sha1_of(path) == sha


def test_second_call_makes_no_request(server, tmp_path, monkeypatch):
    params = tmp_path / "p.params"
    sha = make_params(params)
    pub.publish(params, "cached_net", server.dir)
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    first = ms.get_model_file("cached_net", root=str(tmp_path / "c"))
    assert len(server.zip_requests()) == 1
    server.clear()
    second = ms.get_model_file("cached_net", root=str(tmp_path / "c"))
    assert second == first and sha1_of(second) == sha
    assert server.requests == []


def test_cached_builtin_file_needs_no_network(tmp_path, monkeypatch):
    params = tmp_path / "p.params"
    sha = make_params(params)
    monkeypatch.setitem(ms._model_sha1, "offline_net", sha)
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / ("offline_net-%s.params" % sha[:8])).write_bytes(params.read_bytes())

    def no_network(*args, **kwargs):
        raise AssertionError("network used for a cached file")
    monkeypatch.setattr(ms.urllib.request, "urlopen", no_network)
    assert sha1_of(ms.get_model_file("offline_net", root=str(cache))) == sha


def test_corrupt_cached_file_is_replaced(server, tmp_path, monkeypatch):
    params = tmp_path / "p.params"
    sha = make_params(params)
    tag = pub.publish(params, "net_a", server.dir)
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / ("net_a-%s.params" % tag)).write_bytes(b"stale half-written junk")
    with pytest.warns(RuntimeWarning, match="does not match") as record:
        path = ms.get_model_file("net_a", root=str(cache))
    assert len(record) == 1
    assert sha1_of(path) == sha
    assert len(server.zip_requests()) == 1


def test_file_repo_and_root_created(tmp_path, monkeypatch):
    params = tmp_path / "p.params"
    sha = make_params(params, seed=3)
    mirror = tmp_path / "mirror"
    tag = pub.publish(params, "file_net", mirror)
    monkeypatch.setenv("GLUONPOSE_REPO", mirror.as_uri())  # no trailing '/': added
    cache = tmp_path / "new" / "deep" / "cache"
    path = ms.get_model_file("file_net", root=str(cache))
    assert sha1_of(path) == sha and path == str(cache / ("file_net-%s.params" % tag))


def test_mxnet_gluon_repo_used_when_gluonpose_repo_unset(server, tmp_path, monkeypatch):
    params = tmp_path / "p.params"
    sha = make_params(params)
    tag = pub.publish(params, "mx_net", server.dir)
    assert ms.get_repo_url() == ms.DEFAULT_REPO
    monkeypatch.setenv("MXNET_GLUON_REPO", server.url.rstrip("/"))
    assert ms.get_repo_url() == server.url
    path = ms.get_model_file("mx_net", tag=tag, root=str(tmp_path / "c"))
    assert sha1_of(path) == sha and server.zip_requests() == ["/gluon/models/mx_net-%s.zip" % tag]
    # GLUONPOSE_REPO wins over MXNET_GLUON_REPO
    monkeypatch.setenv("GLUONPOSE_REPO", "http://127.0.0.1:9/")
    assert ms.get_repo_url() == "http://127.0.0.1:9/"


def test_root_precedence(tmp_path, monkeypatch):
    home = tmp_path / "home"
    assert ms.model_root() == str(home / ".mxnet" / "models")
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "mxhome"))
    assert ms.model_root() == str(tmp_path / "mxhome" / "models")
    monkeypatch.setenv("GLUONPOSE_HOME", str(tmp_path / "gphome"))
    assert ms.model_root() == str(tmp_path / "gphome" / "models")
    assert ms.model_root(str(tmp_path / "explicit")) == str(tmp_path / "explicit")
    assert ms.model_root("~/mine") == str(home / "mine")

    # A GluonCV user's file under $MXNET_HOME/models is reused; an explicit root still wins
    # (GluonCV let MXNET_HOME override it).
    monkeypatch.delenv("GLUONPOSE_HOME")
    params = tmp_path / "p.params"
    sha = make_params(params)
    name = "reuse_net-%s.params" % sha[:8]
    for d in (tmp_path / "mxhome" / "models", tmp_path / "explicit"):
        d.mkdir(parents=True)
        (d / name).write_bytes(params.read_bytes())
    assert ms.get_model_file("reuse_net", tag=sha[:8]) == str(tmp_path / "mxhome" / "models" / name)
    assert ms.get_model_file("reuse_net", tag=sha[:8], root=str(tmp_path / "explicit")) == \
        str(tmp_path / "explicit" / name)


# ------------------------------------------------------------------------------------------
# integrity failures


def test_wrong_sha1_is_deleted_and_reported(server, tmp_path, monkeypatch):
    good, bad = tmp_path / "good.params", tmp_path / "bad.params"
    good_sha, bad_sha = make_params(good, seed=1), make_params(bad, seed=2)
    tag = pub.publish(good, "net_x", server.dir)
    member = "net_x-%s.params" % tag
    write_zip(server.dir / "gluon" / "models" / ("net_x-%s.zip" % tag),
              [(member, bad.read_bytes())])
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    cache = tmp_path / "c"
    with pytest.raises(ms.ModelChecksumError) as exc:
        ms.get_model_file("net_x", root=str(cache))
    msg = str(exc.value)
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, ms.ModelStoreError)
    assert "\n" not in msg
    assert member in msg and good_sha in msg and bad_sha in msg
    assert server.url + "gluon/models/net_x-%s.zip" % tag in msg and str(cache / member) in msg
    assert leftovers(cache) == []

    # explicit tag: checked as a prefix; the index still supplies the full sha1
    with pytest.raises(ms.ModelChecksumError, match=good_sha):
        ms.get_model_file("net_x", tag=tag, root=str(cache))
    assert leftovers(cache) == []


def test_truncated_zip(server, tmp_path, monkeypatch):
    params = tmp_path / "p.params"
    sha = make_params(params)
    tag = pub.publish(params, "net_t", server.dir)
    zpath = server.dir / "gluon" / "models" / ("net_t-%s.zip" % tag)
    zpath.write_bytes(zpath.read_bytes()[: zpath.stat().st_size // 2])
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    cache = tmp_path / "c"
    with pytest.raises(ms.ModelArchiveError) as exc:
        ms.get_model_file("net_t", root=str(cache))
    msg = str(exc.value)
    assert "\n" not in msg and "net_t-%s.zip" % tag in msg and sha in msg
    assert exc.value.__suppress_context__
    assert leftovers(cache) == []


def test_truncated_transfer(server, tmp_path, monkeypatch):
    params = tmp_path / "p.params"
    sha = make_params(params)
    pub.publish(params, "net_tt", server.dir)
    server.httpd.truncate = True
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    cache = tmp_path / "c"
    with pytest.raises(ms.ModelArchiveError, match="truncated") as exc:
        ms.get_model_file("net_tt", root=str(cache))
    assert sha in str(exc.value) and "\n" not in str(exc.value)
    assert leftovers(cache) == []


@pytest.mark.parametrize("hostile", ["../evil.params", "sub/../../evil.params", "ABSOLUTE",
                                     "symlink"])
def test_hostile_member_is_refused(server, tmp_path, monkeypatch, hostile):
    params = tmp_path / "p.params"
    sha = make_params(params)
    member = "net_h-%s.params" % sha[:8]
    if hostile == "ABSOLUTE":
        evil = zipfile.ZipInfo(str(tmp_path / "abs_evil.params"))
        data = b"pwned"
    elif hostile == "symlink":
        evil = zipfile.ZipInfo("evil_link")
        evil.create_system = 3
        evil.external_attr = (stat.S_IFLNK | 0o777) << 16
        data = str(tmp_path / "evil_target").encode()
    else:
        evil, data = zipfile.ZipInfo(hostile), b"pwned"
    # The expected member is present and correct: only the hostile entry can cause a refusal.
    write_zip(server.dir / "gluon" / "models" / ("net_h-%s.zip" % sha[:8]),
              [(evil, data), (member, params.read_bytes())])
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    cache = tmp_path / "a" / "b" / "cache"
    with pytest.raises(ms.ModelArchiveError, match="refused") as exc:
        ms.get_model_file("net_h", tag=sha[:8], root=str(cache))
    assert "\n" not in str(exc.value)
    assert leftovers(cache) == []
    assert find_evil(tmp_path, skip=server.dir) == []


def test_archive_layout_rule(server, tmp_path, monkeypatch):
    """Harmless extra members are ignored (never written); a missing member is an error."""
    params = tmp_path / "p.params"
    sha = make_params(params)
    member = "net_l-%s.params" % sha[:8]
    zdir = server.dir / "gluon" / "models"
    write_zip(zdir / ("net_l-%s.zip" % sha[:8]),
              [("README.txt", b"hello"), ("docs/", b""), (member, params.read_bytes())])
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    cache = tmp_path / "c"
    assert sha1_of(ms.get_model_file("net_l", tag=sha[:8], root=str(cache))) == sha
    assert leftovers(cache) == [member]

    write_zip(zdir / ("net_m-%s.zip" % sha[:8]),
              [("nested/net_m-%s.params" % sha[:8], params.read_bytes())])
    with pytest.raises(ms.ModelArchiveError, match="0 members named net_m-"):
        ms.get_model_file("net_m", tag=sha[:8], root=str(tmp_path / "c2"))
    assert leftovers(tmp_path / "c2") == []


# ------------------------------------------------------------------------------------------
# network failures


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_gives_one_clear_error(tmp_path, monkeypatch):
    port = _free_port()
    monkeypatch.setenv("GLUONPOSE_REPO", "http://127.0.0.1:%d" % port)
    cache = tmp_path / "c"
    with pytest.raises(ms.ModelDownloadError) as exc:
        ms.get_model_file("simple_pose_resnet18_v1b", root=str(cache))
    err = exc.value
    msg = str(err)
    assert isinstance(err, ms.ModelStoreError) and isinstance(err, RuntimeError)
    assert "\n" not in msg
    url = "http://127.0.0.1:%d/gluon/models/simple_pose_resnet18_v1b-f63d42ac.zip" % port
    assert msg.startswith("cannot download simple_pose_resnet18_v1b-f63d42ac.zip from " + url)
    assert str(cache / "simple_pose_resnet18_v1b-f63d42ac.params") in msg
    assert err.__cause__ is None and err.__suppress_context__ is True
    assert leftovers(cache) == []


def test_http_404(server, tmp_path, monkeypatch):
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    with pytest.raises(ms.ModelDownloadError, match="HTTP 404") as exc:
        ms.get_model_file("resnet18_v1b", root=str(tmp_path / "c"))
    assert "resnet18_v1b-2d9d980c.zip" in str(exc.value)
    assert leftovers(tmp_path / "c") == []


def test_dead_server_times_out(server, tmp_path, monkeypatch):
    server.httpd.hang = True
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    monkeypatch.setenv("GLUONPOSE_DOWNLOAD_TIMEOUT", "0.3")
    start = time.monotonic()
    with pytest.raises(ms.ModelDownloadError, match="timed out"):
        ms.get_model_file("resnet50_v1b", root=str(tmp_path / "c"))
    assert time.monotonic() - start < 5
    assert leftovers(tmp_path / "c") == []


# ------------------------------------------------------------------------------------------
# names, tags, index


@pytest.mark.parametrize("name", ["a/b", "../x", "x/../y", "..", "a\\b", "", ".hidden",
                                  "a..b", "name.", "a b", "a\x00b", None])
def test_unsafe_names_are_refused(name, tmp_path):
    with pytest.raises(ValueError, match="invalid model name"):
        ms.get_model_file(name, root=str(tmp_path / "c"))
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("tag", ["abc", "1234567", "g" * 8, "0" * 41, "../../xx", 12345678])
def test_bad_tags_are_refused(tag, tmp_path):
    with pytest.raises(ValueError, match="invalid model tag"):
        ms.get_model_file("simple_pose_resnet18_v1b", tag=tag, root=str(tmp_path / "c"))


def test_unknown_name_lists_close_names(tmp_path):
    with pytest.raises(ValueError, match="close names: simple_pose_resnet18_v1b") as exc:
        ms.get_model_file("simple_pose_resnet18_v1", root=str(tmp_path / "c"))
    assert not isinstance(exc.value, ms.ModelStoreError)


def test_bad_index_falls_back_to_table(server, monkeypatch):
    (server.dir / "gluon" / "models").mkdir(parents=True)
    (server.dir / "gluon" / "models" / "index.json").write_text("{not json")
    with pytest.warns(RuntimeWarning, match="not valid JSON"):
        assert ms.mirror_index(server.url) == {}
    ms.clear_index_cache()
    (server.dir / "gluon" / "models" / "index.json").write_text(
        json.dumps({"ok_net": "A" * 40, "../bad": "a" * 40, "short": "abc"}))
    with pytest.warns(RuntimeWarning, match="2 invalid entries"):
        assert ms.mirror_index(server.url) == {"ok_net": "a" * 40}
    server.clear()
    ms.mirror_index(server.url)
    assert server.requests == []  # fetched once per process per repo


# ------------------------------------------------------------------------------------------
# concurrency

_CHILD = """
import sys
from gluonpose.model_zoo import model_store
p = model_store.get_model_file(sys.argv[1], root=sys.argv[2])
print(p, model_store.file_sha1(p))
"""


def test_two_processes_download_once(server, tmp_path, monkeypatch):
    params = tmp_path / "p.params"
    sha = make_params(params)
    pub.publish(params, "race_net", server.dir)
    server.httpd.zip_delay = 1.0
    env = dict(os.environ, GLUONPOSE_REPO=server.url)
    cache = tmp_path / "c"
    args = [PYTHON, "-c", _CHILD, "race_net", str(cache)]
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0, err
        path, digest = out.split()
        assert digest == sha and sha1_of(path) == sha
        assert path == str(cache / ("race_net-%s.params" % sha[:8]))
    assert len(server.zip_requests()) == (1 if ms.fcntl is not None else 2)
    assert leftovers(cache) == ["race_net-%s.params" % sha[:8]]


# ------------------------------------------------------------------------------------------
# purge


def test_purge(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    for f in ("a-12345678.params", "a-12345678.lock", "keep.txt"):
        (root / f).write_bytes(b"x")
    removed = ms.purge(str(root))
    assert sorted(os.path.basename(p) for p in removed) == ["a-12345678.lock",
                                                            "a-12345678.params"]
    assert os.listdir(root) == ["keep.txt"]
    assert ms.purge(str(tmp_path / "missing")) == []


# ------------------------------------------------------------------------------------------
# publish tool


def _run_cli(*args):
    return subprocess.run([PYTHON, "-m", "gluonpose.model_zoo.publish", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=str(REPO_ROOT))


def test_publish_cli(tmp_path):
    params = tmp_path / "model.params"
    sha = make_params(params, seed=5)
    repo = tmp_path / "repo"
    models = repo / "gluon" / "models"
    models.mkdir(parents=True)
    (models / "index.json").write_text(json.dumps({"older_net": "b" * 40}))

    res = _run_cli(params, "cli_net", "--repo", repo)
    assert res.returncode == 0, res.stderr
    assert res.stdout == sha[:8] + "\n"
    index = json.loads((models / "index.json").read_text())
    assert index == {"older_net": "b" * 40, "cli_net": sha}  # merged
    with zipfile.ZipFile(models / ("cli_net-%s.zip" % sha[:8])) as archive:
        assert archive.namelist() == ["cli_net-%s.params" % sha[:8]]
        assert hashlib.sha1(archive.read(archive.namelist()[0])).hexdigest() == sha
    assert sorted(p.name for p in models.iterdir() if not p.name.endswith(".lock")) == \
        ["cli_net-%s.zip" % sha[:8], "index.json"]

    garbage = tmp_path / "garbage.params"
    garbage.write_bytes(b"this is not an ndarray file")
    res = _run_cli(garbage, "bad_net", "--repo", tmp_path / "repo2")
    assert res.returncode != 0 and res.stdout == ""
    assert res.stderr.startswith("publish: error: ") and res.stderr.count("\n") == 1
    assert "mx.nd.load" in res.stderr
    assert not (tmp_path / "repo2").exists()


def test_publish_refuses_bad_input_and_writes_nothing(tmp_path, capsys):
    params = tmp_path / "model.params"
    make_params(params)
    listed = tmp_path / "list.params"
    mx.nd.save(str(listed), [mx.nd.ones(3)])
    repo = tmp_path / "repo"
    cases = [(tmp_path / "missing.params", "net"), (params, "../escape"), (params, "a/b"),
             (listed, "net")]
    for path, name in cases:
        with pytest.raises(pub.PublishError):
            pub.publish(path, name, repo)
        assert pub.main([str(path), name, "--repo", str(repo)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("publish: error: ") and err.count("\n") == 1
    assert not repo.exists()

    models = repo / "gluon" / "models"
    models.mkdir(parents=True)
    (models / "index.json").write_text("[1, 2")
    with pytest.raises(pub.PublishError, match="index"):
        pub.publish(params, "net", repo)
    assert sorted(p.name for p in models.iterdir()) == ["index.json"]


def test_publish_same_file_twice_is_identical(tmp_path):
    params = tmp_path / "model.params"
    make_params(params)
    tag = pub.publish(params, "twice", tmp_path / "r1")
    assert pub.publish(params, "twice", tmp_path / "r2") == tag
    zip_name = Path("gluon", "models", "twice-%s.zip" % tag)
    assert (tmp_path / "r1" / zip_name).read_bytes() == (tmp_path / "r2" / zip_name).read_bytes()
