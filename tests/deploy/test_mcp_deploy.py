"""The MCP endpoint as deployed: under the hub's gunicorn (gthread workers,
hub/gunicorn_conf.py) and under `codetether-hub up`, the official ``mcp``
client initializes, lists the tools and calls them, in the protocol's
stateless form and in the handshake form with a session, whichever
gunicorn worker each request reaches. A client's open event stream holds
one web thread (docs/mcp.md, "Streams and web threads"): other requests go
on beside it."""

from __future__ import annotations

from contextlib import ExitStack

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from support import free_port, run_async
from support.up_hub import UpHub

pytestmark = [
    pytest.mark.sqlite_only,  # the endpoint asks nothing of the database that tests/connectors/mcp does not
    pytest.mark.filterwarnings("ignore:ping is removed"),  # the SDK's note on the newest revision; legacy pings here
]

ENDPOINT = "/connectors/mcp"
HANDSHAKE = "2025-11-25"  # the protocol revision clients with an initialize handshake speak
SSE = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": HANDSHAKE}


async def use_the_tools(base: str, key: str, mode: str) -> dict:
    """initialize, tools/list, create_task, get_task, find_tasks (and ping,
    in the handshake form) with the official client; what it saw."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    async with http, Client(streamable_http_client(base + ENDPOINT, http_client=http), mode=mode) as client:
        listed = await client.list_tools()
        created = await client.call_tool("create_task", {"title": "Deployed", "prompt": f"from an {mode} client"})
        task_id = created.structured_content["task_id"]
        got = await client.call_tool("get_task", {"task_id": task_id})
        found = await client.call_tool("find_tasks", {"status": "pending", "limit": 100})
        if mode == "legacy":
            await client.send_ping()  # gone from the newest revision
        return {
            "protocol": client.protocol_version,
            "tools": {tool.name for tool in listed.tools},
            "errors": [r.is_error for r in (created, got, found)],
            "task_id": task_id,
            "got": got.structured_content["task_id"],
            "found": [t["task_id"] for t in found.structured_content["items"]],
        }


def assert_tools_work(base: str, key: str) -> None:
    for mode in ("auto", "legacy"):  # the newest revision (no session), then the handshake with a session id
        seen = run_async(use_the_tools, base, key, mode)
        assert seen["errors"] == [False, False, False], seen
        assert {"create_task", "get_task", "find_tasks", "cancel_task", "list_codebases"} <= seen["tools"]
        assert seen["got"] == seen["task_id"] and seen["task_id"] in seen["found"]
        assert (seen["protocol"] == HANDSHAKE) == (mode == "legacy"), seen["protocol"]


def open_stream(base: str, key: str, stack: ExitStack) -> None:
    """A handshake session and its GET event stream, held open (as a client
    does to hear the server's notifications) until ``stack`` closes."""
    http = stack.enter_context(httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30))
    hello = {"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "streams", "version": "1"}}
    opened = http.post(ENDPOINT, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}, headers=SSE)
    assert opened.status_code == 200, opened.text
    session = {**SSE, "Mcp-Session-Id": opened.headers["Mcp-Session-Id"]}
    assert http.post(ENDPOINT, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
    stream = stack.enter_context(http.stream("GET", ENDPOINT, headers={**session, "Accept": "text/event-stream"}))
    assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    # As a client leaves: DELETE ends the session and its stream at once (a client that
    # just goes away holds its thread until the stream's next keepalives find it gone).
    stack.callback(lambda: http.delete(ENDPOINT, headers=session).raise_for_status())


def test_the_endpoint_under_gunicorn_with_two_workers_and_its_streams(start_hub, make_user):
    alice = make_user("alice", tier="enterprise")
    hub = start_hub(process=True, HUB_WEB_WORKERS="2")  # HUB_WEB_THREADS: the default, 8 a worker
    assert_tools_work(hub.base, alice.key)

    # Streams held open (as many as one worker has threads, less one):
    # the other requests still get answers beside them.
    rest = httpx.Client(base_url=hub.base, headers=alice.headers, timeout=30)
    with ExitStack() as streams:
        for _ in range(7):
            open_stream(hub.base, alice.key, streams)
        for _ in range(10):
            assert rest.get("/api/v1/tasks?limit=1").status_code == 200
        assert_tools_work(hub.base, alice.key)


def test_the_endpoint_under_up(tmp_path):
    hub = UpHub(tmp_path / "instance", free_port())
    try:
        assert_tools_work(hub.base, hub.api_key())
    finally:
        code, _seconds = hub.stop()
    assert code == 0, hub.output()
