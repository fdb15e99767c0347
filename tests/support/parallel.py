"""Requests that truly overlap: threads released at once, each with its own
HTTP call (against a hub on the in-process server: ``live_url``, in
tests/limits/conftest.py)."""

from __future__ import annotations

import threading

import httpx


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
