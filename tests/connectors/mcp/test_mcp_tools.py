"""The MCP connector's tools, driven by the official MCP Python client over
Streamable HTTP against a live hub (gunicorn), with the reference agent
worker doing the work."""

from __future__ import annotations

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from support import run_async
from support.mcp_client import until

# The tools run the services the REST tests run on both databases; this adds no database question.
pytestmark = pytest.mark.sqlite_only

ENDPOINT = "/connectors/mcp"
TOOLS = {"create_task", "send_message", "cancel_task", "get_task", "find_task", "find_tasks", "list_codebases"}


def run(scenario):
    run_async(scenario)


def test_tools_are_listed_from_the_declarations(mcp_user, mcp_session):
    key = mcp_user("lister")

    async def scenario():
        async with mcp_session(key) as session:
            await session.send_ping()
            listed = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(listed) == TOOLS
            create = listed["create_task"]
            assert set(create.input_schema["required"]) == {"title", "prompt"}
            assert create.input_schema["properties"]["agent_type"]["enum"] == ["build", "plan", "general", "explore"]
            assert create.output_schema["properties"]["status"]["type"] == "string"
            assert "tasks:write" in create.description
            assert create.annotations.read_only_hint is False and create.annotations.idempotent_hint is False
            for name in ("get_task", "find_task", "find_tasks", "list_codebases"):
                assert listed[name].annotations.read_only_hint is True, name
            cancel = listed["cancel_task"].annotations
            assert cancel.destructive_hint is True and cancel.idempotent_hint is True and not cancel.read_only_hint
            # A list answers inside an object, as MCP's structured content must be one.
            assert listed["find_tasks"].output_schema["properties"]["items"]["type"] == "array"

    run(scenario)


def test_a_task_created_by_tool_is_done_by_the_agent_and_read_back(mcp_user, mcp_session, agent_worker):
    key = mcp_user("ada")

    async def scenario():
        async with mcp_session(key) as session:
            created = await session.call_tool("create_task", {"title": "Say hi", "prompt": "hello agent"})
            assert not created.is_error, created.content
            task = created.structured_content
            assert task["status"] == "pending" and task["title"] == "Say hi" and task["id"].startswith("task_")

            async def finished():
                got = (await session.call_tool("get_task", {"task_id": task["id"]})).structured_content
                return got if got["status"] in ("completed", "failed") else None

            done = await until(finished, message="the agent to finish the task")
            assert done["status"] == "completed", done
            assert "done: HELLO AGENT" in done["result"]

            found = await session.call_tool("find_tasks", {"status": "completed"})
            assert [t["id"] for t in found.structured_content["items"]] == [task["id"]]
            one = await session.call_tool("find_task", {"search": "say HI"})
            assert [t["id"] for t in one.structured_content["items"]] == [task["id"]]
            codebases = await session.call_tool("list_codebases", {})
            assert [c["id"] for c in codebases.structured_content["items"]] == ["global"]

    run(scenario)


def test_cancel_task_ends_a_running_task(mcp_user, mcp_session, agent_worker):
    key = mcp_user("cy")

    async def scenario():
        async with mcp_session(key) as session:
            task = (
                await session.call_tool("create_task", {"title": "Long", "prompt": "sleep a while"})
            ).structured_content

            async def running():
                got = (await session.call_tool("get_task", {"task_id": task["id"]})).structured_content
                return got["status"] == "running"

            await until(running, message="the agent to start")
            cancelled = await session.call_tool("cancel_task", {"task_id": task["id"]})
            assert not cancelled.is_error and cancelled.structured_content["status"] == "cancelled"
            again = await session.call_tool("cancel_task", {"task_id": task["id"]})  # idempotent, as annotated
            assert again.structured_content["status"] == "cancelled"

    run(scenario)


def test_a_tool_needs_the_scope_its_rest_route_needs(mcp_hub, mcp_user, mcp_session):
    reader = mcp_user("reader", scopes=["tasks:read"])

    async def scenario():
        async with mcp_session(reader) as session:
            with pytest.raises(MCPError) as refused:
                await session.call_tool("create_task", {"title": "No", "prompt": "not allowed"})
            assert "tasks:write" in refused.value.error.message
            assert (await session.call_tool("find_tasks", {})).structured_content == {"items": []}  # nothing made

    run(scenario)
    # Over HTTP: the hub's 403 with the scope to ask for (MCP's step-up authorization).
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "cancel_task", "arguments": {}}}
    answer = httpx.post(mcp_hub.url(ENDPOINT), json=call, headers=_headers(reader), timeout=30)
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    assert 'scope="tasks:write"' in answer.headers["WWW-Authenticate"]
    assert answer.json()["id"] == 7 and answer.json()["error"]["data"] == {"required_scope": "tasks:write"}


def test_the_endpoint_answers_401_without_a_valid_token(mcp_hub):
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    for headers in ({}, {"Authorization": "Bearer ct_not_a_real_key"}):
        answer = httpx.post(mcp_hub.url(ENDPOINT), json=initialize, headers={**_accept(), **headers}, timeout=30)
        assert answer.status_code == 401, answer.text
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.json()["status"] == 401
    assert httpx.get(mcp_hub.url(ENDPOINT), headers=_accept(), timeout=30).status_code == 401


def test_another_users_task_is_not_found(mcp_user, mcp_session):
    owner, other = mcp_user("olga"), mcp_user("mallory")

    async def scenario():
        async with mcp_session(owner) as session:
            task = (await session.call_tool("create_task", {"title": "Mine", "prompt": "p"})).structured_content
        async with mcp_session(other) as session:
            for tool in ("get_task", "cancel_task"):
                answer = await session.call_tool(tool, {"task_id": task["id"]})
                assert answer.is_error and answer.content[0].text.startswith("not_found: "), (tool, answer.content)
            assert (await session.call_tool("find_tasks", {})).structured_content == {"items": []}
        async with mcp_session(owner) as session:
            got = (await session.call_tool("get_task", {"task_id": task["id"]})).structured_content
            # mallory's cancel changed nothing (the module's agent worker may have taken it meanwhile)
            assert got["status"] != "cancelled"

    run(scenario)


def test_bad_arguments_name_the_field_and_create_nothing(mcp_user, mcp_session):
    key = mcp_user("typo")

    async def scenario():
        async with mcp_session(key) as session:
            missing = await session.call_tool("create_task", {"title": "No prompt"})
            assert missing.is_error and "prompt" in missing.content[0].text, missing.content
            wrong = await session.call_tool("create_task", {"title": "t", "prompt": "p", "priority": "high"})
            assert wrong.is_error and "priority" in wrong.content[0].text, wrong.content
            status = await session.call_tool("find_tasks", {"status": "done"})
            assert status.is_error and "status" in status.content[0].text, status.content
            assert (await session.call_tool("find_tasks", {})).structured_content == {"items": []}
            with pytest.raises(MCPError):
                await session.call_tool("no_such_tool", {})

    run(scenario)


def _accept() -> dict[str, str]:
    return {"Accept": "application/json, text/event-stream"}


def _headers(key: str) -> dict[str, str]:
    return {**_accept(), "Authorization": f"Bearer {key}"}


def test_the_newest_protocol_without_a_handshake_serves_the_tools_too(mcp_hub, mcp_user):
    """A client of MCP's per-request revision (2026-07-28: server/discover, no
    session) lists and calls the same tools, as the same user."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    key = mcp_user("modern")

    async def scenario():
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(mcp_hub.url(ENDPOINT), http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            discovered = await session.discover()
            assert "2026-07-28" in discovered.supported_versions
            assert {tool.name for tool in (await session.list_tools()).tools} >= TOOLS
            created = await session.call_tool("create_task", {"title": "Modern", "prompt": "p"})
            assert not created.is_error, created.content
            found = await session.call_tool("find_tasks", {})
            assert [t["title"] for t in found.structured_content["items"]] == ["Modern"]

    run(scenario)
