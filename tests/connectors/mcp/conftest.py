"""One live hub per test module (``support.module_hub``: gunicorn, as deployed,
one worker) and the official MCP client against it: ``mcp_hub``, ``mcp_user``,
``mcp_session``, ``agent_worker`` (waits: ``support.mcp_client``). A module
shares its hub to keep CI lean; tests tell their data apart by user."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from support.live_hub import LiveHub
from support.mcp_client import AGENT
from support.module_hub import module_hub, user_keys

ENDPOINT = "/connectors/mcp"


@pytest.fixture(scope="module")
def mcp_hub(request) -> Iterator[LiveHub]:
    with module_hub(request, "mcp-hub") as hub:
        yield hub


@pytest.fixture(scope="module")
def mcp_user(mcp_hub) -> Callable[..., str]:
    """``mcp_user("ada", scopes=None, tier="enterprise")``: an API key of a user
    of the module's hub (made on first use), with every scope unless given."""
    return user_keys(mcp_hub)


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
