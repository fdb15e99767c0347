"""The hub's Flask class: Flask minus two per-request costs that profiling
the Zapier poll found (bench/README.md, Profiling)."""

from __future__ import annotations

from functools import lru_cache
from inspect import iscoroutinefunction

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

# Whether a function is async never changes, and Flask asks inspect of every
# hook and view on every request.
_is_async = lru_cache(maxsize=1024)(iscoroutinefunction)


class CookieSessions(SecureCookieSessionInterface):
    """Builds the cookie's signer only when a request carries the cookie:
    API calls (bearer tokens) never do."""

    def open_session(self, app, request):
        if app.secret_key and self.get_cookie_name(app) not in request.environ.get("HTTP_COOKIE", ""):
            return self.session_class()
        return super().open_session(app, request)


class HubFlask(Flask):
    session_interface = CookieSessions()

    def ensure_sync(self, func):
        # Keyed by the plain function: a bound method is new on every request.
        return self.async_to_sync(func) if _is_async(getattr(func, "__func__", func)) else func
