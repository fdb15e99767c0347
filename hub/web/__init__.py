"""Server-rendered pages: sign-in, sign-out, OAuth consent, the dashboard
and the admin pages. Forms are CSRF-protected (``hub.web.csrf``)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from hub.oauth import routes as oauth_routes
from hub.web import admin, auth, csrf, dashboard, headers, orgs, share, sso, task_page


def init_app(app: Flask) -> None:
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
    headers.init_app(app)
    app.register_blueprint(sso.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(oauth_routes.bp)
    for pages in (task_page.bp, share.bp, dashboard.bp, orgs.bp, admin.bp):
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
