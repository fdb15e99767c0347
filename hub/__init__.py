"""CodeTether Hub: drive AI-agent tasks from no-code automation platforms."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from hub import config as settings
from hub import logs
from hub.db import Unavailable as DatabaseUnavailable
from hub.db import db
from hub.errors import HubError, handle_database_error, handle_hub_error
from hub.flask_app import HubFlask


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment's settings, overridden by ``config``."""
    # The app's parts are imported here, when an app is built, not with the
    # `hub` package: the agent worker (hub.agent) and the CLI's help import
    # `hub` and must not load the whole web app.
    from flask_migrate import Migrate

    from hub import after_commit, api, health, limits, metrics, wakeups, web
    from hub.api import input_guard
    from hub.auth import oidc, principals

    loaded = settings.load()
    app = HubFlask(__name__, instance_path=loaded["HUB_INSTANCE_PATH"])
    app.config.update(loaded)
    if config:
        app.config.update(config)
    # Flask's DefaultJSONProvider has sort_keys; app.json is typed as its base class.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.init_app(app)
    input_guard.init_app(app)  # first of the checks before a request: bad input meets nothing else

    db.init_app(app)
    Migrate(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)

    wakeups.install()
    principals.install()
    after_commit.install()
    oidc.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(health.blp)
    limits.init_app(app)
    # Probes and scrapes must never be rate limited.
    limits.limiter.exempt(health.blp)
    limits.limiter.exempt(metrics.blp)
    api.init_app(app)
    web.init_app(app)
    app.register_error_handler(HubError, handle_hub_error)
    for unavailable in (SQLAlchemyError, DatabaseUnavailable):  # 503 when the database is down or unwritable
        app.register_error_handler(unavailable, handle_database_error)
    return app


def _migrations_dir() -> str:
    """A wheel ships the migrations as hub/migrations (setup.py); a checkout,
    installed editable or not at all, keeps them in the top-level folder."""
    package = Path(__file__).resolve().parent
    shipped = package / "migrations"
    return str(shipped if shipped.is_dir() else package.parent / "migrations")
