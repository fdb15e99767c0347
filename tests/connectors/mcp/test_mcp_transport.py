"""The Streamable HTTP transport across the hub's processes: gunicorn hands a
client's requests to any worker, so a session opened by one process is
served by another (two hubs on one database and Redis stand in for two
workers, deterministically), for its own user only, until its client ends it."""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest
from support import free_port
from support.live_hub import Gunicorn

pytestmark = pytest.mark.sqlite_only  # no database question here: sessions live in Redis

ENDPOINT = "/connectors/mcp"
VERSION = "2025-11-25"


@pytest.fixture(scope="module")
def other_process(mcp_hub, tmp_path_factory):
    """A second hub process on the same settings (database, Redis): another
    worker (``.endpoint``: its MCP URL). The module's last test stops it."""
    port = free_port()
    folder = tmp_path_factory.mktemp("other-process")
    server = Gunicorn(port, env={**os.environ, "HUB_WEB_WORKERS": "1", "PROMETHEUS_MULTIPROC_DIR": str(folder)})
    base = f"http://127.0.0.1:{port}"
    server.endpoint = base + ENDPOINT
    try:
        server.wait_ready(base)
        yield server
    finally:
        server.stop()
        print("--- other process ---\n" + server.output()[-3000:])


def rpc(url, key, method, params=None, *, session=None, id=1):
    """One JSON-RPC request; the HTTP answer and its JSON-RPC message (from JSON or SSE)."""
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}
    if session:
        headers |= {"Mcp-Session-Id": session, "MCP-Protocol-Version": VERSION}
    message = {"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})}
    if id is not None:
        message["id"] = id
    answer = httpx.post(url, json=message, headers=headers, timeout=30)
    data = [line[5:] for line in answer.text.splitlines() if line.startswith("data:") and line[5:].strip()]
    if data:
        return answer, json.loads(data[-1])
    return answer, answer.json() if answer.content and "json" in answer.headers.get("content-type", "") else None


def open_session(url, key):
    params = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
    answer, message = rpc(url, key, "initialize", params)
    assert answer.status_code == 200 and message["result"]["protocolVersion"] == VERSION, answer.text
    session = answer.headers["Mcp-Session-Id"]
    done, _ = rpc(url, key, "notifications/initialized", session=session, id=None)
    assert done.status_code == 202
    return session


def test_a_session_opened_by_one_process_is_served_by_another(mcp_hub, mcp_user, other_process):
    key = mcp_user("wanderer")
    session = open_session(mcp_hub.url(ENDPOINT), key)
    answer, message = rpc(other_process.endpoint, key, "tools/list", session=session, id=2)
    assert answer.status_code == 200, answer.text
    assert "create_task" in {tool["name"] for tool in message["result"]["tools"]}
    answer, message = rpc(
        other_process.endpoint, key, "tools/call", {"name": "find_tasks", "arguments": {}}, session=session
    )
    assert answer.status_code == 200 and message["result"]["structuredContent"] == {"items": []}, answer.text


def test_another_users_session_is_unknown_everywhere(mcp_hub, mcp_user, other_process):
    owner, other = mcp_user("keeper"), mcp_user("snoop")
    session = open_session(mcp_hub.url(ENDPOINT), owner)
    for url in (other_process.endpoint, mcp_hub.url(ENDPOINT)):
        answer, _ = rpc(url, other, "tools/list", session=session, id=3)
        assert answer.status_code == 404, (url, answer.text)


def test_a_session_its_client_ended_is_not_taken_up(mcp_hub, mcp_user, other_process):
    key = mcp_user("leaver")
    session = open_session(mcp_hub.url(ENDPOINT), key)
    ended = httpx.delete(
        mcp_hub.url(ENDPOINT),
        headers={"Authorization": f"Bearer {key}", "Mcp-Session-Id": session, "MCP-Protocol-Version": VERSION},
        timeout=30,
    )
    assert ended.status_code == 200, ended.text
    answer, _ = rpc(other_process.endpoint, key, "tools/list", session=session, id=4)
    assert answer.status_code == 404, answer.text


def test_a_new_stream_replaces_the_one_its_client_left(mcp_hub, mcp_user):
    """The client's GET stream (server-to-client messages) drops and comes
    back, as on a network change: the hub (WSGI) notices the old one gone
    only at its next write to it, so the new one replaces it, rather than
    answering 409 until then."""
    key = mcp_user("roamer")
    url = mcp_hub.url(ENDPOINT)
    session = open_session(url, key)
    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "text/event-stream",
        "Mcp-Session-Id": session,
        "MCP-Protocol-Version": VERSION,
    }
    for _ in range(2):  # the client leaves its stream, and opens one again at once
        with httpx.stream("GET", url, headers=headers, timeout=30) as stream:
            assert stream.status_code == 200, stream.read()
            assert stream.headers["content-type"].startswith("text/event-stream")
    answer, message = rpc(url, key, "ping", session=session, id=5)
    assert answer.status_code == 200 and message["result"] == {}
    ended = httpx.delete(url, headers=headers, timeout=30)  # ends the last stream too
    assert ended.status_code == 200, ended.text


def test_the_tiers_request_limit_counts_mcp_requests(mcp_hub, mcp_user):
    """Each request to the endpoint counts against the caller's tier, as on
    the REST routes (free: 60 a minute), answered 429 past it."""
    key = mcp_user("thrifty", tier="free")
    url = mcp_hub.url(ENDPOINT)
    session = open_session(url, key)  # two requests
    answers = [rpc(url, key, "ping", session=session, id=n)[0] for n in range(60)]
    assert [a.status_code for a in answers[:58]] == [200] * 58
    limited = answers[-1]
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited", limited.text
    assert int(limited.headers["Retry-After"]) > 0


def test_a_stopping_hub_ends_its_streams_at_once(mcp_user, other_process):
    """gunicorn waits for every request in flight when it stops (up to its
    graceful timeout, 30 s): an MCP client's open stream must not hold a
    stop, or a restart, that long. (The module's last test: it stops the other process.)"""
    key = mcp_user("stayer")
    url = other_process.endpoint
    session = open_session(url, key)
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream", "Mcp-Session-Id": session}
    with httpx.stream("GET", url, headers=headers, timeout=60) as stream:
        assert stream.status_code == 200
        started = time.monotonic()
        assert other_process.stop(timeout=25) == 0, other_process.output()[-3000:]
        assert time.monotonic() - started < 20  # not the graceful timeout's 30 s
