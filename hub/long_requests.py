"""Requests that hold a web thread for long: a live task page's stream, an
A2A stream or blocking send. A process serves at most half its threads
(``HUB_WEB_THREADS``) as such, all kinds together, so the other half keeps
answering the API, the sign-in and the workers' claims."""

from __future__ import annotations

import threading

from flask import current_app

_lock = threading.Lock()
_held = 0


class Hold:
    """One long request's place, given back once by ``close`` (again: a no-op)."""

    def __init__(self) -> None:
        self._held = True

    def close(self) -> None:
        global _held
        with _lock:
            if self._held:
                self._held = False
                _held -= 1

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hold() -> Hold | None:
    """A place for a long request, or None: the process serves as many as it may (in an app context)."""
    global _held
    most = max(1, current_app.config["HUB_WEB_THREADS"] // 2)  # the other half serves the API and the pages
    with _lock:
        if _held >= most:
            return None
        _held += 1
        return Hold()
