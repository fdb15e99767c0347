"""CodeTether Hub: drive AI-agent tasks from no-code automation platforms."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from hub import config as settings
from hub.db import Unavailable as DatabaseUnavailable
from hub.db import db
from hub.errors import HubError, handle_database_error, handle_hub_error
from hub.flask_app import HubFlask


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment's settings, overridden by ``config``."""
    loaded = settings.load()
    app = HubFlask(__name__, instance_path=loaded["HUB_INSTANCE_PATH"])
    app.config.update(loaded)
    if config:
        app.config.update(config)
    app.json.sort_keys = False
    from hub import logs

    logs.init_app(app)
    from hub.api import input_guard

    input_guard.init_app(app)  # first of the checks before a request: bad input meets nothing else

    db.init_app(app)
    from flask_migrate import Migrate

    Migrate(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)

    from hub import api, health, limits, metrics, wakeups, web, webhooks
    from hub.auth import principals

    wakeups.install()
    principals.install()
    webhooks.init_app(app)
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
    from pathlib import Path

    package = Path(__file__).resolve().parent
    shipped = package / "migrations"
    return str(shipped if shipped.is_dir() else package.parent / "migrations")
