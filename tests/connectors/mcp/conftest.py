"""One live hub per test module (gunicorn, as deployed, one worker) and the
official MCP client against it: ``mcp_hub``, ``mcp_user``, ``mcp_session``,
``agent_worker`` (waits: ``support.mcp_client``). A module shares its hub to
keep CI lean; tests tell their data apart by user."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from support import TEST_DATABASE, free_port
from support.live_hub import Gunicorn, LiveHub
from support.mcp_client import AGENT

ENDPOINT = "/connectors/mcp"


@pytest.fixture(scope="module")
def mcp_hub(request, tmp_path_factory, template_db, redis_server) -> Iterator[LiveHub]:
    from hub import create_app

    folder = tmp_path_factory.mktemp("mcp-hub")
    if TEST_DATABASE == "postgresql":
        postgres = request.getfixturevalue("postgres_server")
        name = postgres.create_database(template=template_db)
        url = postgres.url(name)
    else:
        shutil.copy(template_db, folder / "hub.db")
        url = f"sqlite:///{folder / 'hub.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        "HUB_INSTANCE_PATH": str(folder),
        "DATABASE_URL": url,
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": "test-secret",
        "HUB_BASE_URL": base,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name_, value in settings.items():
            patch.setenv(name_, value)
        env = {**os.environ, "HUB_WEB_WORKERS": "1", "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics")}
        hub = LiveHub(base, create_app(), Gunicorn(port, env=env))
        try:
            hub.server.wait_ready(base)
            yield hub
        finally:
            hub.stop()
    if TEST_DATABASE == "postgresql":
        postgres.drop_database(name)


@pytest.fixture(scope="module")
def mcp_user(mcp_hub) -> Callable[..., str]:
    """``mcp_user("ada", scopes=None, tier="enterprise")``: a new user's API
    key (every scope unless given)."""
    from hub.services import accounts

    def make(username: str, *, scopes: list[str] | None = None, tier: str = "enterprise") -> str:
        with mcp_hub.app.app_context():
            try:
                accounts.get_user(username)
            except Exception:
                accounts.create_user(username, tier=tier)
            return accounts.create_api_key(username, scopes=scopes)[1]

    return make


@pytest.fixture(scope="module")
def mcp_session(mcp_hub):
    """``async with mcp_session(key, **options) as session``: an initialized MCP
    client session; ``options`` go to the ClientSession (e.g. its notification handlers)."""

    @asynccontextmanager
    async def session(key: str, **options: Any) -> AsyncIterator[ClientSession]:
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http,
            streamable_http_client(mcp_hub.url(ENDPOINT), http_client=http) as (read, write),
            ClientSession(read, write, **options) as client,
        ):
            await client.initialize()
            yield client

    return session


@pytest.fixture(scope="module")
def agent_worker(mcp_hub, tmp_path_factory):
    """One reference agent worker (command backend, one task at a time) running AGENT."""
    from hub.services import workers

    script = tmp_path_factory.mktemp("agent") / "agent.py"
    script.write_text(AGENT)
    with mcp_hub.app.app_context():
        token = workers.create_token("mcp-tests")[1]
    return mcp_hub.agent_worker(token, "--backend", "command", "--command", f"{sys.executable} {script}")
