"""A real threaded HTTP server on loopback, so parallel requests truly overlap."""

from __future__ import annotations

import threading

import httpx
import pytest
from werkzeug.serving import make_server


@pytest.fixture
def live_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def parallel(count: int, call):
    """Run ``call(i)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def post(url: str, key: str, path: str, json: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(url + path, json=json, headers={"Authorization": f"Bearer {key}", **(headers or {})}, timeout=60)
