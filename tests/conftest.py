"""Shared fixtures: an isolated model-store environment and a local HTTP mirror."""
import functools
import http.server
import threading
import time
from pathlib import Path

import pytest

from gluonpose.model_zoo import model_store as ms

STORE_ENV = ("GLUONPOSE_REPO", "MXNET_GLUON_REPO", "GLUONPOSE_HOME", "MXNET_HOME",
             "GLUON_MODEL_LOCK_TIMEOUT", "GLUONPOSE_DOWNLOAD_TIMEOUT")


# ------------------------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture
def clean_store_env(monkeypatch, tmp_path):
    """No store variable leaks in from the caller's shell; ``~`` is a fresh tmp dir."""
    for var in STORE_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ms.clear_index_cache()
    yield
    ms.clear_index_cache()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.requests.append(self.path)
        if srv.hang:
            srv.release.wait(10)  # never answer: the client must time out
            return
        if self.path.endswith(".zip"):
            time.sleep(srv.zip_delay)
            if srv.truncate:
                data = Path(self.translate_path(self.path)).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.close_connection = True
                return
        super().do_GET()


class Server:
    """ThreadingHTTPServer serving ``directory``; records every requested path."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Handler, directory=str(self.dir)))
        self.httpd.daemon_threads = True
        self.httpd.requests, self.httpd.lock = [], threading.Lock()
        self.httpd.zip_delay, self.httpd.truncate, self.httpd.hang = 0.0, False, False
        self.httpd.release = threading.Event()
        self.url = "http://127.0.0.1:%d/" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def requests(self):
        with self.httpd.lock:
            return list(self.httpd.requests)

    def zip_requests(self):
        return [p for p in self.requests if p.endswith(".zip")]

    def clear(self):
        with self.httpd.lock:
            del self.httpd.requests[:]

    def close(self):
        self.httpd.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "mirror")
    yield srv
    srv.close()


