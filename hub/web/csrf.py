"""CSRF protection for the forms (Flask-WTF), opt-in per view: each form
handler calls ``csrf.protect()``. The JSON API authenticates with bearer
tokens and needs none."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

_csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # Over HTTPS Flask-WTF would also demand a same-site Referer, which the
    # OAuth pages withhold (Referrer-Policy: no-referrer, hub.web.headers): the
    # consent form would always fail. The session-bound token and the
    # SameSite=Lax cookie are the CSRF defence.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    _csrf.init_app(app)


def protect() -> None:
    """Refuse (400) a form post without this session's CSRF token."""
    _csrf.protect()
