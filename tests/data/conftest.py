"""Fixtures for the data tests: official-format files (see dataset_files.py), loopback HTTP.

Nothing here touches the network or the user's folders: every test runs with
``LAYERWISE_OFFLINE=1``, no ``LAYERWISE_DATA_DIR`` and a private ``XDG_CACHE_HOME``.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dataset_files import (
    SmallCifar,
    SmallMnist,
    make_small_cifar,
    make_small_mnist,
    py2_pickle,
    write_idx,
)

# --------------------------------------------------------------------------- isolation


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    monkeypatch.delenv("LAYERWISE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.setenv("LAYERWISE_OFFLINE", "1")


@pytest.fixture(scope="session")
def idx_writer() -> Callable[..., Path]:
    """``write_idx(path, array, *, gz)``: write ``array`` as an IDX file."""
    return write_idx


@pytest.fixture
def small_mnist(tmp_path: Path) -> SmallMnist:
    """Four gzipped MNIST-format files (30 training, 12 test images) in ``tmp_path/mnist``."""
    return make_small_mnist(tmp_path / "mnist", n_train=30, n_test=12, gz=True, seed=1)


@pytest.fixture(scope="session")
def py2_pickler() -> Callable[[Any], bytes]:
    """``py2_pickle(obj) -> bytes``: pickle ``obj`` the way the CIFAR-10 files were pickled."""
    return py2_pickle


@pytest.fixture
def small_cifar(tmp_path: Path) -> SmallCifar:
    """A small CIFAR-10 in the official format, both extracted and as the .tar.gz archive."""
    return make_small_cifar(tmp_path / "cifar", seed=0)


# --------------------------------------------------------------------------- loopback HTTP


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    declared_length: int | None = None  # Content-Length sent, if not len(body)
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between single bytes of the body (a stalled mirror)


@dataclass
class LoopbackServer:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def serve(self, path: str, body: bytes = b"", **kwargs: Any) -> str:
        self.routes[path] = Route(body=body, **kwargs)
        return self.url(path)


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """An HTTP server on 127.0.0.1 in a thread, serving what the test registers."""
    state: dict[str, LoopbackServer] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server = state["server"]
            server.requests.append(self.path)
            route = server.routes.get(self.path, Route(status=404, body=b"not found"))
            self.send_response(route.status)
            length = len(route.body) if route.declared_length is None else route.declared_length
            self.send_header("Content-Length", str(length))
            for key, value in route.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if route.trickle:
                for i in range(len(route.body)):
                    self.wfile.write(route.body[i : i + 1])
                    self.wfile.flush()
                    if server.stop.wait(route.trickle):
                        return
            else:
                self.wfile.write(route.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    state["server"] = LoopbackServer(base=f"http://127.0.0.1:{port}")
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield state["server"]
    finally:
        state["server"].stop.set()  # a trickling handler stops at once
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
