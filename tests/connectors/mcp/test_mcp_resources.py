"""The caller's tasks as MCP resources (codetether://tasks/<id>), with the
official MCP Python client over Streamable HTTP against a live hub: read,
list, the template, and update notifications of a subscribed task as the
reference agent worker runs it."""

from __future__ import annotations

import sys

import httpx
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from support import run_async
from support.mcp_client import Heard, until

pytestmark = [
    pytest.mark.sqlite_only,  # the live hub's tasks: the service calls the REST tests run on both databases
    # The client speaks the 2025-11-25 handshake, where resources/subscribe is how to subscribe; the SDK
    # warns that 2026-07-28 replaces it.
    pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed"),
]

RESOURCE_NOT_FOUND = -32002


@pytest.fixture(scope="module")
def session_for(mcp_session):
    """``async with session_for(key, updates) as session``: an initialized
    session; ``updates`` collects the URIs of the resources it hears updated."""

    def session(key: str, updates: Heard | None = None):
        async def handle(message) -> None:
            if updates is not None and isinstance(message, types.ResourceUpdatedNotification):
                await updates.add(str(message.params.uri))

        return mcp_session(key, message_handler=handle)

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

    updates = Heard()

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
                return uri in updates.items and (await read(session, task["id"]))["status"] == "completed"

            await until(completed, heard=updates, message="the update of the completed task")
            assert set(updates.items) == {uri}  # the unsubscribed one says nothing

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
