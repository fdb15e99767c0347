"""Long-running work through MCP's Tasks utility and progress, with the
official MCP Python client over Streamable HTTP against a live hub
(gunicorn) and the reference agent worker doing the work."""

from __future__ import annotations

import contextlib
import json
import os
import threading

import httpx
import mcp_types as types
import pytest
from mcp.client.extension import NotificationBinding
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from support import free_port, run_async, wait_for
from support.live_hub import Gunicorn
from support.mcp_client import Heard, until

pytestmark = pytest.mark.sqlite_only  # the live hub's tasks: the service calls the REST tests run on both databases

ENDPOINT = "/connectors/mcp"


@pytest.fixture(scope="module")
def session_for(mcp_session):
    """``async with session_for(key, heard) as session``: an initialized
    session whose task status notifications ``heard`` collects."""

    def session(key: str, heard: Heard):
        binding = NotificationBinding(
            method="notifications/tasks/status", params_type=types.TaskStatusNotificationParams, handler=heard.add
        )
        return mcp_session(key, notification_bindings=[binding])

    return session


def has_status(heard: Heard, task_id: str, status: str):
    """A check for ``until``: ``heard`` holds the task's notification of ``status``."""
    return lambda: any(n.task_id == task_id and n.status == status for n in heard.items)


async def create_as_task(session: ClientSession, title: str, prompt: str) -> types.CreateTaskResult:
    request = types.CallToolRequest(
        params=types.CallToolRequestParams(
            name="create_task", arguments={"title": title, "prompt": prompt}, task=types.TaskMetadata(ttl=600_000)
        )
    )
    return await session.send_request(request, types.CreateTaskResult)


async def get(session, task_id):
    return await session.send_request(
        types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task_id)), types.GetTaskResult
    )


async def result(session, task_id):
    return await session.send_request(
        types.GetTaskPayloadRequest(params=types.GetTaskPayloadRequestParams(task_id=task_id)), types.CallToolResult
    )


async def cancel(session, task_id):
    return await session.send_request(
        types.CancelTaskRequest(params=types.CancelTaskRequestParams(task_id=task_id)), types.CancelTaskResult
    )


async def listed(session):
    return await session.send_request(types.ListTasksRequest(), types.ListTasksResult)


def run(scenario):
    run_async(scenario)


def test_the_server_declares_tasks_and_create_task_may_run_as_one(mcp_user, session_for):
    async def scenario():
        async with session_for(mcp_user("declared"), Heard()) as session:
            tasks = session.server_capabilities.tasks
            assert tasks is not None and tasks.list is not None and tasks.cancel is not None
            assert tasks.requests.tools.call is not None
            support = {tool.name: tool.execution for tool in (await session.list_tools()).tools}
            assert support["create_task"].task_support == "optional"
            assert support["get_task"] is None  # the others answer at once

    run(scenario)


def test_a_task_created_as_an_mcp_task_is_collected_once_the_agent_is_done(mcp_user, session_for, agent_worker):
    heard = Heard()

    async def scenario():
        async with session_for(mcp_user("ada"), heard) as session:
            created = await create_as_task(session, "Say hi", "hello agent")
            handle = created.task
            assert handle.task_id.startswith("task_") and handle.status == "working"
            assert handle.poll_interval and handle.ttl is None

            # tasks/result waits for the agent, then answers what create_task would: the finished task.
            done = await result(session, handle.task_id)
            assert not done.is_error, done.content
            assert done.structured_content["id"] == handle.task_id
            assert done.structured_content["status"] == "completed"
            assert "done: HELLO AGENT" in done.structured_content["result"]
            assert done.meta["io.modelcontextprotocol/related-task"] == {"taskId": handle.task_id}

            state = await get(session, handle.task_id)
            assert state.status == "completed" and state.task_id == handle.task_id
            assert handle.task_id in [task.task_id for task in (await listed(session)).tasks]
            # The status notification of its end reached the session's stream.
            await until(
                has_status(heard, handle.task_id, "completed"), heard=heard, message="the completed status notification"
            )

    run(scenario)


def test_cancelling_a_running_task_ends_the_agent_and_notifies(mcp_user, mcp_hub, session_for, agent_worker):
    heard = Heard()

    async def scenario():
        async with session_for(mcp_user("grace"), heard) as session:
            handle = (await create_as_task(session, "Long job", "sleep a while")).task

            async def running():
                found = await session.call_tool("get_task", {"task_id": handle.task_id})
                return found.structured_content["status"] == "running"

            await until(running, message="the agent to take the task")
            cancelled = await cancel(session, handle.task_id)
            assert cancelled.status == "cancelled"
            await until(
                has_status(heard, handle.task_id, "cancelled"), heard=heard, message="the cancelled status notification"
            )
            cancelled_result = await result(session, handle.task_id)
            assert cancelled_result.is_error and cancelled_result.structured_content["status"] == "cancelled"
            # The agent stopped its 300 s job: the one worker takes and finishes the next task.
            after = (await create_as_task(session, "Next", "quick one")).task
            finished = await result(session, after.task_id)
            assert finished.structured_content["status"] == "completed"
            with pytest.raises(MCPError) as refused:
                await cancel(session, after.task_id)  # ended: MCP's "already in a terminal status"
            assert refused.value.error.code == types.INVALID_PARAMS

    run(scenario)


def test_another_users_task_is_not_found(mcp_user, session_for):
    async def scenario():
        async with session_for(mcp_user("owner"), Heard()) as mine:
            task_id = (await create_as_task(mine, "Mine", "private")).task.task_id
        async with session_for(mcp_user("stranger"), Heard()) as theirs:
            for ask in (get, result, cancel):
                with pytest.raises(MCPError) as refused:
                    await ask(theirs, task_id)
                assert refused.value.error.code == types.INVALID_PARAMS, ask
            assert task_id not in [task.task_id for task in (await listed(theirs)).tasks]
        async with session_for(mcp_user("owner"), Heard()) as mine:
            assert (await get(mine, task_id)).status != "cancelled"  # untouched by the stranger's cancel

    run(scenario)


def test_a_waiting_create_task_hears_progress_and_answers_the_finished_task(mcp_user, session_for, agent_worker):
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def scenario():
        async with session_for(mcp_user("lin"), Heard()) as session:
            request = types.CallToolRequest(
                params=types.CallToolRequestParams(
                    name="create_task",
                    arguments={"title": "Wait for it", "prompt": "quick"},
                    _meta={"progressToken": "p1", "codetether/wait": 120},
                )
            )
            done = await session.send_request(request, types.CallToolResult, progress_callback=on_progress)
            assert done.structured_content["status"] == "completed", done
            assert "done: QUICK" in done.structured_content["result"]
            assert progress and any("completed" in (message or "") for _, message in progress)
            assert [value for value, _ in progress] == sorted({value for value, _ in progress})  # increasing

    run(scenario)


OTHER_SERVERS: dict = {}


@pytest.fixture(scope="module")
def other_process(mcp_hub, tmp_path_factory):
    """A second hub process on the same database and Redis: another gunicorn worker, deterministically."""
    port = free_port()
    folder = tmp_path_factory.mktemp("other-process")
    server = Gunicorn(port, env={**os.environ, "HUB_WEB_WORKERS": "1", "PROMETHEUS_MULTIPROC_DIR": str(folder)})
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_ready(base)
        OTHER_SERVERS[base + ENDPOINT] = server  # its log, for a failure's message
        yield base + ENDPOINT
    finally:
        server.stop()


def test_notifications_reach_the_stream_another_process_serves(mcp_hub, mcp_user, other_process):
    """The call goes to one process, the session's GET stream to another (as
    gunicorn's workers share a client's requests): the status still arrives."""
    key = mcp_user("traveller")
    here = mcp_hub.url(ENDPOINT)
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}

    def rpc(method, params=None, session=None, id=1):
        extra = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"} if session else {}
        message = {"jsonrpc": "2.0", "method": method, "params": params or {}} | ({"id": id} if id else {})
        answer = httpx.post(here, json=message, headers=headers | extra, timeout=30)
        assert answer.status_code in (200, 202), answer.text
        data = [line[5:] for line in answer.text.splitlines() if line.startswith("data:") and line[5:].strip()]
        return answer, json.loads(data[-1]) if data else None

    client = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
    session = rpc("initialize", client)[0].headers["Mcp-Session-Id"]
    rpc("notifications/initialized", session=session, id=None)
    heard: list[dict] = []
    answered: list[int] = []  # the GET stream's status

    def listen():  # the session's GET stream, served by the other process
        stream_headers = headers | {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
        with (
            contextlib.suppress(httpx.HTTPError),  # ended by the session's DELETE
            httpx.stream("GET", other_process, headers=stream_headers, timeout=httpx.Timeout(30, read=None)) as got,
        ):
            answered.append(got.status_code)
            for line in got.iter_lines():
                if line.startswith("data:") and line[5:].strip():
                    heard.append(json.loads(line[5:]))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    arguments = {"name": "create_task", "arguments": {"title": "Far", "prompt": "p"}, "task": {}}
    task_id = rpc("tools/call", arguments, session=session, id=2)[1]["result"]["task"]["taskId"]
    rpc("tasks/cancel", {"taskId": task_id}, session=session, id=3)

    def cancelled():
        return any(
            m.get("method") == "notifications/tasks/status"
            and m["params"]["taskId"] == task_id
            and m["params"]["status"] == "cancelled"
            for m in heard
        )

    # A stream that ends (or is refused) before the status came fails at once, saying how it ended.
    with contextlib.suppress(AssertionError):  # a timeout is told below, with what the stream got
        wait_for(lambda: cancelled() or not listener.is_alive(), 30, message="the status or the stream's end")
    log = OTHER_SERVERS[other_process].output()[-4000:]
    seen = f"stream status {answered}, alive {listener.is_alive()}, heard {heard}; the other process:\n{log}"
    assert cancelled(), f"no cancelled status on the other process's stream: {seen}"
    for process in (here, other_process):  # each holds a copy of the session (the other, its stream)
        httpx.delete(process, headers=headers | {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})
    listener.join(30)


def test_each_method_asks_for_its_scope(mcp_hub, mcp_user, session_for):
    key = mcp_user("writer", scopes=["tasks:write"])
    # Over HTTP: the hub's 403 naming the scope to ask for (MCP's step-up authorization), as for a tool.
    ask = {"jsonrpc": "2.0", "id": 9, "method": "tasks/get", "params": {"taskId": "task_x"}}
    answer = httpx.post(mcp_hub.url(ENDPOINT), json=ask, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 403 and 'scope="tasks:read"' in answer.headers["WWW-Authenticate"]

    async def scenario():
        async with session_for(key, Heard()) as session:
            task_id = (await create_as_task(session, "Write only", "p")).task.task_id
            for ask in (get, result, listed):
                with pytest.raises(MCPError) as refused:
                    await (ask(session, task_id) if ask is not listed else ask(session))
                assert "tasks:read" in refused.value.error.message, ask
            assert (await cancel(session, task_id)).status == "cancelled"  # tasks:write is enough for that

    run(scenario)


def test_a_question_is_input_required_and_the_reply_resumes_the_same_task(mcp_user, session_for, agent_worker):
    heard = Heard()

    async def scenario():
        async with session_for(mcp_user("asked"), heard) as session:
            handle = (await create_as_task(session, "Deploy", "ask which branch")).task
            await until(
                has_status(heard, handle.task_id, "input_required"),
                heard=heard,
                message="the input_required status notification",
            )
            assert (await get(session, handle.task_id)).status == "input_required"
            task = (await session.call_tool("get_task", {"task_id": handle.task_id})).structured_content
            sent = await session.call_tool(
                "send_message", {"message": "release-2", "conversation_id": task["conversation_id"]}
            )
            assert not sent.is_error, sent.content
            done = await result(session, handle.task_id)
            assert done.structured_content["status"] == "completed", done.structured_content
            assert "RELEASE-2" in done.structured_content["result"]

    run(scenario)
