"""``get_model(..., pretrained=...)`` and ``pretrained_base`` through the whole store path.

Weights are published with the publish tool into a mirror that a local HTTP server
serves on 127.0.0.1; nothing leaves the machine.
"""
import socket
import subprocess
import sys
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest

from gluonpose.model_zoo import get_model
from gluonpose.model_zoo.model_store import ModelDownloadError, file_sha1
from gluonpose.model_zoo.publish import publish

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_store(clean_store_env):
    yield


def _random_net(name, seed, **kwargs):
    net = get_model(name, **kwargs)
    net.initialize(mx.init.Normal(0.05))
    net(mx.nd.zeros((1, 3, 64, 64)))
    rng = np.random.RandomState(seed)
    for param in net.collect_params().values():
        if param.name.endswith("running_var"):
            param.set_data(mx.nd.array(rng.uniform(0.5, 1.5, param.shape)))
        else:
            param.set_data(mx.nd.array(rng.normal(0, 0.05, param.shape)))
    return net


def test_pretrained_true_and_hashtag_load_published_weights(server, tmp_path, monkeypatch):
    name = "simple_pose_resnet18_v1b"
    trained = _random_net(name, seed=0)
    params = tmp_path / "trained.params"
    trained.save_parameters(str(params))
    tag = publish(str(params), name, str(server.dir))
    assert tag == file_sha1(str(params))[:8]

    monkeypatch.setenv("GLUONPOSE_REPO", server.url)
    x = mx.nd.array(np.random.RandomState(1).uniform(-1, 1, (1, 3, 64, 64)))
    expected = trained(x).asnumpy()
    cache = tmp_path / "cache"
    for pretrained in (True, tag):
        net = get_model(name, pretrained=pretrained, root=str(cache))
        np.testing.assert_array_equal(net(x).asnumpy(), expected)
    assert sorted(p.name for p in cache.glob("*.params")) == ["%s-%s.params" % (name, tag)]
    assert len(server.zip_requests()) == 1  # the second call used the verified cache


def test_pretrained_base_loads_gluoncv_imagenet_file(server, tmp_path, monkeypatch):
    """A GluonCV ImageNet file published as ``resnet50_v1d`` becomes the pose trunk."""
    gcv_zoo = pytest.importorskip("gluoncv.model_zoo")
    base = gcv_zoo.get_model("resnet50_v1d")
    base.initialize(mx.init.Normal(0.05))
    base(mx.nd.zeros((1, 3, 64, 64)))
    base_file = tmp_path / "resnet50_v1d.params"
    base.save_parameters(str(base_file))
    publish(str(base_file), "resnet50_v1d", str(server.dir))
    monkeypatch.setenv("GLUONPOSE_REPO", server.url)

    net = get_model("simple_pose_resnet50_v1d", pretrained_base=True, root=str(tmp_path / "c"))
    ours = net._collect_params_with_prefix()
    theirs = base._collect_params_with_prefix()
    trunk = {k: v for k, v in ours.items() if k.startswith("resnet.")}
    assert len(trunk) == len(theirs) - 2  # everything but the classifier (fc.weight, fc.bias)
    # resnet.0 = conv1, resnet.1 = bn1, resnet.4..7 = layer1..4
    rename = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}
    for key, param in trunk.items():
        head, rest = key[len("resnet."):].split(".", 1)
        np.testing.assert_array_equal(param.data().asnumpy(),
                                      theirs[rename[head] + "." + rest].data().asnumpy())
    # the trunk is GluonCV's forward too: features of both agree on an input
    x = mx.nd.array(np.random.RandomState(2).uniform(-1, 1, (1, 3, 64, 64)))
    ref = base.layer4(base.layer3(base.layer2(base.layer1(
        base.maxpool(base.relu(base.bn1(base.conv1(x))))))))
    np.testing.assert_allclose(net.resnet(x).asnumpy(), ref.asnumpy(), rtol=1e-5, atol=1e-5)


def _dead_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "http://127.0.0.1:%d/" % s.getsockname()[1]


def test_offline_pretrained_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GLUONPOSE_REPO", _dead_url())
    with pytest.raises(ModelDownloadError) as info:
        get_model("simple_pose_resnet18_v1b", pretrained=True, root=str(tmp_path))
    message = str(info.value)
    assert "\n" not in message
    assert "simple_pose_resnet18_v1b-f63d42ac" in message
    assert info.value.__suppress_context__
    assert list(tmp_path.glob("*.params")) == []


def test_cli_download_offline_exits_nonzero_with_one_line(tmp_path):
    env = {"GLUONPOSE_REPO": _dead_url(), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "gluonpose", "download",
                           "simple_pose_resnet18_v1b", "--root", str(tmp_path / "m")],
                          capture_output=True, text=True, env=env, cwd=str(REPO_ROOT), timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gluonpose: error: ") and "f63d42ac" in lines[0]
    assert proc.stdout == ""
