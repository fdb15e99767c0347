"""Helpers for the tests: plain modules, imported by name (``from support
import wait_for``). Fixtures are not here: they live in conftest.py files and
in tests/fixtures/ (registered by the root conftest's ``pytest_plugins``)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Which database this run uses: scripts/test runs the suite once on each.
TEST_DATABASE = os.environ.get("HUB_TEST_DATABASE", "sqlite")
assert TEST_DATABASE in ("sqlite", "postgresql"), "HUB_TEST_DATABASE is sqlite or postgresql"

# A wait's timeout only bounds a condition that never comes: a test passes as
# soon as it holds. On a busy 2-core machine (load 12+: other test processes,
# builds) a delivery's four attempts took longer than 15 s, so every wait gets
# this many times its timeout before it fails. HUB_TEST_DEADLINE_SCALE=1 gives
# the written timeouts back (e.g. to see a hang fail fast).
DEADLINE_SCALE = float(os.environ.get("HUB_TEST_DEADLINE_SCALE", "4"))


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01, message: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns something truthy, or fail after
    ``timeout`` seconds (times DEADLINE_SCALE)."""
    timeout *= DEADLINE_SCALE
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def run_async(main: Callable[..., Any], *args: Any) -> Any:
    """Run an async test body (``anyio.run(main, *args)``) on a thread of its
    own: the browser tests' session-wide Playwright (its sync API) keeps an
    event loop running in the main thread of their test process, where
    asyncio refuses to start another; a test that runs after them there
    would fail for that alone."""
    import anyio

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(anyio.run, main, *args).result()
