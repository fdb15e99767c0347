"""Long-running work: MCP's Tasks utility (spec 2025-11-25) and progress.

An agent takes minutes. A client that calls ``create_task`` with ``task`` (a
task-augmented ``tools/call``) gets a task handle at once; the MCP task is
the hub task (one id everywhere). Then:

- ``tasks/get``: its state; ``tasks/list``: the caller's tasks, newest first;
- ``tasks/result``: waits until it ends, then answers what ``create_task``
  would have: the finished task (an error result if it failed or was
  cancelled), or a JSON-RPC error after ``WAIT_MAX_SECONDS``: ask again;
- ``tasks/cancel``: cancels the hub task (the agent stops at its next
  heartbeat);
- ``notifications/tasks/status`` on the session's stream at each change
  (``watch.Watch``).

Statuses: pending and running are ``working``; ``input_required`` (the agent
asked a question: reply with ``send_message``), ``completed``, ``failed`` and
``cancelled`` are themselves. Another user's task is not found.

A plain ``create_task`` call may wait instead: with a ``progressToken`` and
``_meta["codetether/wait"]`` (true, or seconds, at most ``WAIT_MAX_SECONDS``)
it stays open, sends ``notifications/progress`` at each change, and answers
the task as it is when it ends (or when the wait is over).

Why hand-written: the SDK (2.3) carries the Tasks types but dispatches none
of them (its method tables leave ``tasks/*`` out), and it shapes a
``tools/call`` result as a ``CallToolResult``, which would drop a
``CreateTaskResult``'s ``task``. So ``tasks/*`` are the server's own request
handlers, and a server middleware, whose answer the SDK passes on as it is,
answers the task-augmented call and declares the ``tasks`` capability and
each tool's ``execution.taskSupport``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from connectors.base import hub
from connectors.base.declarations import Connector
from connectors.base.endpoint import Bridge, Caller
from connectors.mcp import tools
from connectors.mcp.server import caller_of
from connectors.mcp.watch import SCOPES, TERMINAL, adopt, allowed, connection, follow_status, mcp_status, mcp_task

TASK_TOOLS = frozenset({"create_task"})  # tools that start a hub task: they may run as an MCP task
RELATED_TASK = "io.modelcontextprotocol/related-task"
WAIT = "codetether/wait"
WAIT_MAX_SECONDS = 600  # one request held open at most this long (tasks/result, a waiting create_task)
CAPABILITY: dict[str, Any] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
LIST_PAGE = 50


def register(server: Server[Any], bridge: Bridge, connector: Connector) -> None:
    async def get(ctx: ServerRequestContext[Any, Any], params: types.GetTaskRequestParams) -> dict[str, Any]:
        return mcp_task(await _task(ctx, bridge, "tasks/get", params.task_id))

    async def result(ctx: ServerRequestContext[Any, Any], params: types.GetTaskPayloadRequestParams) -> dict[str, Any]:
        task = await _task(ctx, bridge, "tasks/result", params.task_id)
        if mcp_status(task["status"]) not in TERMINAL:
            task = await _until_ended(bridge, caller_of(ctx), task, time.monotonic() + WAIT_MAX_SECONDS)
        if mcp_status(task["status"]) not in TERMINAL:
            raise MCPError(types.INTERNAL_ERROR, f"Task {task['id']} is still working: ask for its result again.")
        answer = _tool_result(task)
        answer["_meta"] = {RELATED_TASK: {"taskId": task["id"]}}
        return answer

    async def cancel(ctx: ServerRequestContext[Any, Any], params: types.CancelTaskRequestParams) -> dict[str, Any]:
        who = allowed(ctx, SCOPES["tasks/cancel"])
        try:
            return mcp_task(await bridge.call(who, hub.cancel_task, params.task_id))
        except hub.Conflict as ended:  # completed or failed: MCP's "already in a terminal status"
            raise MCPError(types.INVALID_PARAMS, ended.message) from None
        except hub.NotFound as missing:
            raise MCPError(types.INVALID_PARAMS, missing.message) from None

    async def listed(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams) -> dict[str, Any]:
        who = allowed(ctx, SCOPES["tasks/list"])
        page = _page(params.cursor)
        found = await bridge.call(who, hub.list_tasks, page=page, limit=LIST_PAGE)
        answer: dict[str, Any] = {"tasks": [mcp_task(task) for task in found.items]}
        if found.more:
            answer["nextCursor"] = str(page + 1)
        return answer

    server.add_request_handler("tasks/get", types.GetTaskRequestParams, get)
    server.add_request_handler("tasks/result", types.GetTaskPayloadRequestParams, result)
    server.add_request_handler("tasks/cancel", types.CancelTaskRequestParams, cancel)
    server.add_request_handler("tasks/list", types.PaginatedRequestParams, listed)
    server.middleware.append(_Middleware(bridge))


class _Middleware:
    """Declares the capability and each tool's task support; answers a
    task-augmented ``create_task`` with its task, and a waiting one with its
    end."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        adopt(connection(ctx))  # this process may send the session's notifications
        params = ctx.params if isinstance(ctx.params, Mapping) else {}
        if ctx.method == "tools/call" and params.get("task") is not None:
            return await self._as_task(ctx, params, call_next)
        if ctx.method == "tools/call" and params.get("name") in TASK_TOOLS and _wait_seconds(params):
            return await self._waiting(ctx, params, call_next)
        answer = await call_next(ctx)
        if ctx.method == "initialize" and isinstance(answer, dict):
            answer.setdefault("capabilities", {})["tasks"] = CAPABILITY
        elif ctx.method == "tools/list" and isinstance(answer, dict):
            for tool in answer.get("tools", []):
                if tool.get("name") in TASK_TOOLS:
                    tool["execution"] = {"taskSupport": "optional"}
        return answer

    async def _as_task(
        self, ctx: ServerRequestContext[Any, Any], params: Mapping[str, Any], call_next: CallNext
    ) -> HandlerResult:
        if params.get("name") not in TASK_TOOLS:
            raise MCPError(types.METHOD_NOT_FOUND, f"Tool {params.get('name')!r} does not run as a task.")
        answer = await call_next(ctx)
        task = answer.get("structuredContent") if isinstance(answer, dict) and not answer.get("isError") else None
        if not isinstance(task, dict):
            return answer  # refused (a field, a scope, a limit): nothing was created
        await follow_status(ctx, self.bridge, task)
        handle = mcp_task(task)
        # ``content`` too: a client that does not know tasks still reads what happened.
        text = f"Task {task['id']} is {handle['status']}: tasks/result answers it once it ends."
        return {"task": handle, "content": [{"type": "text", "text": text}]}

    async def _waiting(
        self, ctx: ServerRequestContext[Any, Any], params: Mapping[str, Any], call_next: CallNext
    ) -> HandlerResult:
        deadline = time.monotonic() + _wait_seconds(params)
        answer = await call_next(ctx)
        task = answer.get("structuredContent") if isinstance(answer, dict) and not answer.get("isError") else None
        if not isinstance(task, dict):
            return answer
        task = await _until_ended(self.bridge, caller_of(ctx), task, deadline, ctx)
        return _tool_result(task)


async def _until_ended(
    bridge: Bridge,
    who: Caller,
    task: hub.Task,
    deadline: float,
    progress_to: ServerRequestContext[Any, Any] | None = None,
) -> hub.Task:
    """``task`` once it ends (or as it is at ``deadline``); with
    ``progress_to``, a progress notification to that request at each change."""
    step = 0
    with await bridge.call(who, hub.task_changes, task["id"]) as changes:
        task = await bridge.call(who, hub.get_task, task["id"])  # what changed before we listened
        while mcp_status(task["status"]) not in TERMINAL and (left := deadline - time.monotonic()) > 0:
            if not await changes.next(left):
                continue
            before, task = task, await bridge.call(who, hub.get_task, task["id"])
            if progress_to is not None and task != before:
                step += 1
                await progress_to.session.report_progress(step, None, f"{task['status']}: {task['title']}")
    return task


def _tool_result(task: hub.Task) -> dict[str, Any]:
    """What ``create_task`` answers, for the finished task: an error result
    if it failed or was cancelled, so a model reads it as not done."""
    dumped: dict[str, Any] = tools.result(task).model_dump(by_alias=True, mode="json", exclude_none=True)
    if task["status"] in ("failed", "cancelled"):
        dumped["isError"] = True
    return dumped


def _wait_seconds(params: Mapping[str, Any]) -> float:
    """How long a plain create_task call asked to wait (0: it did not, or
    sent no progress token to hear about it)."""
    meta = params.get("_meta")
    if not isinstance(meta, Mapping) or meta.get("progressToken") is None:
        return 0.0
    wait = meta.get(WAIT)
    if wait is True:
        return float(WAIT_MAX_SECONDS)
    if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > 0:
        return float(min(wait, WAIT_MAX_SECONDS))
    return 0.0


async def _task(ctx: ServerRequestContext[Any, Any], bridge: Bridge, method: str, task_id: str) -> hub.Task:
    """The caller's task, or MCP's "invalid params" for an unknown one (another user's too)."""
    who = allowed(ctx, SCOPES[method])
    try:
        return await bridge.call(who, hub.get_task, task_id)
    except hub.NotFound as missing:
        raise MCPError(types.INVALID_PARAMS, missing.message) from None


def _page(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise MCPError(types.INVALID_PARAMS, "Invalid cursor.")
    return int(cursor)
