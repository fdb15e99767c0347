"""The caller's tasks as MCP resources (codetether://tasks/<id>), with the
official MCP Python client over Streamable HTTP against a live hub: read,
list, the template, and update notifications of a subscribed task as the
reference agent worker runs it."""

from __future__ import annotations

import sys
import time
from contextlib import asynccontextmanager

import anyio
import httpx
import httpx2
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from support import run_async

pytestmark = [
    pytest.mark.sqlite_only,  # the live hub's tasks: the service calls the REST tests run on both databases
    # The client speaks the 2025-11-25 handshake, where resources/subscribe is how to subscribe; the SDK
    # warns that 2026-07-28 replaces it.
    pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed"),
]

ENDPOINT = "/connectors/mcp"
RESOURCE_NOT_FOUND = -32002


class Updates:
    """The resource URIs the client heard updated, waited on with a deadline."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self.changed = anyio.Event()

    async def handle(self, message) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.uris.append(str(message.params.uri))
            self.changed.set()

    async def until(self, check, timeout: float = 60, message: str = "an update"):
        deadline = time.monotonic() + timeout
        while not (found := await check()):
            left = deadline - time.monotonic()
            assert left > 0, f"timed out after {timeout}s waiting for {message}"
            self.changed = anyio.Event()
            with anyio.move_on_after(min(left, 5)):
                await self.changed.wait()
        return found


@pytest.fixture(scope="module")
def session_for(mcp_hub):
    @asynccontextmanager
    async def session(key: str, updates: Updates | None = None):
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http,
            streamable_http_client(mcp_hub.url(ENDPOINT), http_client=http) as (read, write),
            ClientSession(read, write, message_handler=(updates or Updates()).handle) as client,
        ):
            await client.initialize()
            yield client

    return session


async def create(session: ClientSession, title: str, prompt: str = "quick") -> dict:
    created = await session.call_tool("create_task", {"title": title, "prompt": prompt})
    assert not created.is_error, created.content
    return created.structured_content


async def read(session: ClientSession, task_id: str) -> dict:
    import json

    contents = (await session.read_resource(f"codetether://tasks/{task_id}")).contents
    assert len(contents) == 1 and contents[0].mime_type == "application/json"
    return json.loads(contents[0].text)


def run(scenario):
    run_async(scenario)


def test_a_task_reads_as_the_rest_api_answers_it_and_is_listed(mcp_hub, mcp_user, session_for):
    key = mcp_user("reader")

    async def scenario():
        async with session_for(key) as session:
            assert session.server_capabilities.resources.subscribe is True
            templates = (await session.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["codetether://tasks/{task_id}"]
            task = await create(session, "Read me")
            read_back = await read(session, task["id"])
            rest = httpx.get(mcp_hub.url(f"/api/v1/tasks/{task['id']}"), headers={"Authorization": f"Bearer {key}"})
            assert read_back == rest.json()
            listed = (await session.list_resources()).resources
            assert f"codetether://tasks/{task['id']}" in [str(r.uri) for r in listed]

    run(scenario)


def test_a_subscribed_task_notifies_each_change_until_it_completes(mcp_hub, mcp_user, session_for):
    from hub.services import workers

    updates = Updates()

    async def scenario():
        async with session_for(mcp_user("watcher"), updates) as session:
            task = await create(session, "Watch me", "watch this")
            other = await create(session, "Not watched")
            uri = f"codetether://tasks/{task['id']}"
            await session.subscribe_resource(uri)
            await session.subscribe_resource(f"codetether://tasks/{other['id']}")
            await session.unsubscribe_resource(f"codetether://tasks/{other['id']}")
            # No agent worker until now: every change happens after the subscription.
            with mcp_hub.app.app_context():
                token = workers.create_token("resource-tests")[1]
            mcp_hub.agent_worker(token, "--backend", "command", "--command", f"{sys.executable} -c 'print(42)'")

            async def completed():
                return uri in updates.uris and (await read(session, task["id"]))["status"] == "completed"

            await updates.until(completed, message="the update of the completed task")
            assert set(updates.uris) == {uri}  # the unsubscribed one says nothing

    run(scenario)


def test_another_users_task_is_not_found(mcp_user, session_for):
    async def scenario():
        async with session_for(mcp_user("keeper")) as mine:
            task = await create(mine, "Private")
        async with session_for(mcp_user("snoop")) as theirs:
            uri = f"codetether://tasks/{task['id']}"
            for ask in (theirs.read_resource, theirs.subscribe_resource):
                with pytest.raises(MCPError) as refused:
                    await ask(uri)
                assert refused.value.error.code == RESOURCE_NOT_FOUND
            assert uri not in [str(r.uri) for r in (await theirs.list_resources()).resources]
            with pytest.raises(MCPError):
                await theirs.read_resource("codetether://tasks/")

    run(scenario)
