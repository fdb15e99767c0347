"""A live hub for one test module, as deployed (gunicorn, one worker) on a copy
of the template database (SQLite, or a PostgreSQL database of its own) and the
session's Redis, and API keys for its users: what the MCP tests' conftest
gives, for any module that drives a protocol over real HTTP. A module shares
one hub to keep CI lean; its tests tell their data apart by user."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from support import TEST_DATABASE, free_port
from support.live_hub import Gunicorn, LiveHub


@contextmanager
def module_hub(request: pytest.FixtureRequest, name: str) -> Iterator[LiveHub]:
    """``with module_hub(request, "mcp-hub") as hub`` in a module-scoped fixture:
    the hub runs with this process's settings pointed at it until the block ends."""
    from hub import create_app

    template_db = request.getfixturevalue("template_db")
    folder = request.getfixturevalue("tmp_path_factory").mktemp(name)
    if TEST_DATABASE == "postgresql":
        postgres = request.getfixturevalue("postgres_server")
        database = postgres.create_database(template=template_db)
        url = postgres.url(database)
    else:
        shutil.copy(template_db, folder / "hub.db")
        url = f"sqlite:///{folder / 'hub.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        "HUB_INSTANCE_PATH": str(folder),
        "DATABASE_URL": url,
        "REDIS_URL": request.getfixturevalue("redis_server").url,
        "SECRET_KEY": "test-secret",
        "HUB_BASE_URL": base,
    }
    with pytest.MonkeyPatch.context() as patch:
        for setting, value in settings.items():
            patch.setenv(setting, value)
        env = {**os.environ, "HUB_WEB_WORKERS": "1", "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics")}
        hub = LiveHub(base, create_app(), Gunicorn(port, env=env))
        try:
            hub.server.wait_ready(base)
            yield hub
        finally:
            hub.stop()
    if TEST_DATABASE == "postgresql":
        postgres.drop_database(database)


def user_keys(hub: LiveHub) -> Callable[..., str]:
    """``make("ada", scopes=None, tier="enterprise")``: an API key of the hub's
    user ``ada`` (made on first use), with every scope unless given."""
    from hub.services import accounts

    def make(username: str, *, scopes: list[str] | None = None, tier: str = "enterprise") -> str:
        with hub.app.app_context():
            try:
                accounts.get_user(username)
            except Exception:
                accounts.create_user(username, tier=tier)
            return accounts.create_api_key(username, scopes=scopes)[1]

    return make
