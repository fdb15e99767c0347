"""Server-rendered pages: sign-in, sign-out, OAuth consent.

CSRF protection (Flask-WTF) is opt-in per view (``csrf.protect()`` in each
form handler): the JSON API authenticates with bearer tokens and needs none.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # Over HTTPS Flask-WTF would also demand a same-site Referer, which the
    # OAuth pages withhold (Referrer-Policy: no-referrer, hub.web.headers): the
    # consent form would always fail. The session-bound token and the
    # SameSite=Lax cookie are the CSRF defence.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    # Assigned, not setdefault: Flask defines these keys already (SameSite
    # unset, Secure off, 31 days), so a setdefault would never apply.
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["HUB_BASE_URL"].startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    csrf.init_app(app)
    app.add_template_filter(_utc, "utc")
    app.add_template_filter(_ago, "ago")

    from hub.oauth import routes as oauth_routes
    from hub.web import admin, auth, dashboard, headers, sso, task_page

    headers.init_app(app)
    sso.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(oauth_routes.bp)
    for pages in (task_page.bp, dashboard.bp, admin.bp):
        app.register_blueprint(pages)


def _utc(value) -> str:
    """Naive-UTC timestamps as people read them."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _ago(seconds: float) -> str:
    """How long ago, roughly: "12 s ago", "5 min ago", "3 h ago", "2 d ago"."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"
