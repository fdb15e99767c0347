"""What one MCP session follows, and the notifications it is sent.

A session follows the tasks it started as MCP tasks (``notifications/tasks/status``
at each status change, until the task ends) and the task resources it
subscribed to (``notifications/resources/updated`` at each change).
Notifications go on the session's standalone stream, the client's GET, which
any hub process may serve (``connectors/mcp/sessions.py``), not necessarily
the one that took the call. So what a session follows is a small shared
record (``Bridge.remember``, plus this process's own copy, which serves while
Redis is down), and the process serving the session's GET stream runs its
``Watch``: one subscription to its user's task changes (``hub.task_changes``,
one Redis connection per process for all of them), re-reading the record at
each change and every ``REFRESH_SECONDS``, so a task followed just after it
changed is still told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import mcp_types as types
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.exceptions import MCPError

from connectors.base import hub
from connectors.base.endpoint import Bridge, Caller, caller

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0  # a watch re-reads what its session follows at least this often
RECORD_SECONDS = 24 * 3600  # as a session's own record (sessions.py)
Follows = dict[str, Any]  # {"tasks": {task id: MCP status last told}, "resources": [task ids]}

# This process's connections by session id; each holds (in its state) what its
# session follows as far as this process knows.
_connections: weakref.WeakValueDictionary[str, Connection] = weakref.WeakValueDictionary()
_FOLLOWS = "codetether.follows"


# The scope each of the tasks' and resources' methods needs, as the REST routes
# ask: the endpoint refuses a POST without it (connectors/mcp/server.py,
# scope_for), and the handlers check again (``allowed``).
SCOPES = {
    "tasks/get": "tasks:read",
    "tasks/result": "tasks:read",
    "tasks/list": "tasks:read",
    "tasks/cancel": "tasks:write",
    "resources/read": "tasks:read",
    "resources/list": "tasks:read",
    "resources/subscribe": "tasks:read",
    "resources/unsubscribe": "tasks:read",
}


def allowed(ctx: ServerRequestContext[Any, Any], scope: str) -> Caller:
    """The caller, if their credential has ``scope`` (as the REST route
    asks); else an error naming it."""
    who = caller(ctx.request.scope) if ctx.request is not None else None
    if who is None:  # only the hub's endpoint reaches this server, always with a caller
        raise MCPError(types.INVALID_REQUEST, "Not signed in.")
    if scope not in who.scopes:
        raise MCPError(types.INVALID_REQUEST, f"This token lacks the '{scope}' scope.", data={"required_scope": scope})
    return who


def connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    """The session's connection. The SDK (2.3) hands lowlevel handlers its
    session but no public handle on the connection."""
    return ctx.session._connection


def adopt(conn: Connection) -> None:
    """This process holds ``conn``, its session's connection: notifications
    of the session may leave from here. Called for every request (the
    tasks middleware) and when a process takes a session up."""
    if conn.session_id:
        _connections[conn.session_id] = conn
        if (held := _holding.pop(conn.session_id, None)) is not None:
            held.set()


# Sessions a GET stream's watch waits to see taken up by this process.
_holding: dict[str, asyncio.Event] = {}
HOLD_SECONDS = 10.0  # a GET for a session no process can take up ends sooner (404)


async def _held_here(session_id: str) -> None:
    """Until this process holds the session's connection (or HOLD_SECONDS):
    the watch starts before the GET takes its session up, and a status
    checked before that could not be sent, yet would count as told."""
    if session_id in _connections:
        return
    held = _holding.setdefault(session_id, asyncio.Event())
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(held.wait(), HOLD_SECONDS)
    finally:
        if _holding.get(session_id) is held:
            del _holding[session_id]


async def follow_status(ctx: ServerRequestContext[Any, Any], bridge: Bridge, task: hub.Task) -> None:
    """Tell the session each status change of ``task`` until it ends (its
    status now is known to the client)."""
    status = mcp_status(task["status"])
    await _update(bridge, connection(ctx).session_id, lambda follows: follows["tasks"].setdefault(task["id"], status))


async def follow_resource(ctx: ServerRequestContext[Any, Any], bridge: Bridge, task_id: str) -> None:
    def add(follows: Follows) -> None:
        if task_id not in follows["resources"]:
            follows["resources"].append(task_id)

    await _update(bridge, connection(ctx).session_id, add)


async def unfollow_resource(ctx: ServerRequestContext[Any, Any], bridge: Bridge, task_id: str) -> None:
    def remove(follows: Follows) -> None:
        if task_id in follows["resources"]:
            follows["resources"].remove(task_id)

    await _update(bridge, connection(ctx).session_id, remove)


def _empty() -> Follows:
    return {"tasks": {}, "resources": []}


async def _update(bridge: Bridge, session_id: str | None, change: Callable[[Follows], Any]) -> None:
    """Change what the session follows, here and in the shared record (a
    read and a write: two processes changing one session's record at once
    may lose one change, and its client then polls as it would anyway)."""
    if not session_id:
        return
    change(_local(session_id))
    shared = await bridge.recall(_name(session_id)) or _empty()
    change(shared)
    await bridge.remember(_name(session_id), shared, RECORD_SECONDS)


async def _follows(bridge: Bridge, session_id: str) -> Follows:
    """What the session follows: the shared record, with this process's copy."""
    shared = await bridge.recall(_name(session_id)) or _empty()
    mine = _local(session_id)
    return {
        "tasks": {**mine["tasks"], **shared["tasks"]},
        "resources": sorted(set(mine["resources"]) | set(shared["resources"])),
    }


def _local(session_id: str) -> Follows:
    """This process's copy (it serves while Redis is down), kept with the
    session's connection here: it ends with it."""
    conn = _connections.get(session_id)
    if conn is None:
        return _empty()
    follows: Follows = conn.state.setdefault(_FOLLOWS, _empty())
    return follows


def _session_id(scope: MutableMapping[str, Any]) -> str | None:
    wanted = MCP_SESSION_ID_HEADER.lower().encode("latin-1")
    return next((value.decode("latin-1") for key, value in scope.get("headers", ()) if key == wanted), None)


def _name(session_id: str) -> str:
    return f"follows:{session_id}"


@contextlib.asynccontextmanager
async def streaming(bridge: Bridge, scope: MutableMapping[str, Any]) -> AsyncIterator[None]:
    """Around a request (its ASGI ``scope``): while this process serves a
    session's GET stream, the session's watch runs here."""
    session_id = _session_id(scope) if scope.get("method") == "GET" else None
    who = caller(scope)
    if session_id is None or who is None:
        yield
        return
    job = asyncio.get_running_loop().create_task(Watch(bridge, who, session_id).run())
    try:
        yield
    finally:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job


class Watch:
    def __init__(self, bridge: Bridge, caller: Caller, session_id: str) -> None:
        self.bridge, self.caller, self.session_id = bridge, caller, session_id
        self.told: dict[str, str] = {}  # task id -> the MCP status the client knows
        self.seen: dict[str, hub.Task] = {}  # subscribed task id -> the task as last told
        self.ended: set[str] = set()  # followed tasks that ended, for the record to forget

    async def run(self) -> None:
        await _held_here(self.session_id)
        with await self.bridge.call(self.caller, hub.task_changes) as changes:
            named: set[str | None] | None = None  # None: check everything (first, and after a poll)
            follows, read_at = _empty(), 0.0
            try:
                while True:
                    followed = set(follows["tasks"]) | set(follows["resources"])
                    # The record is read again only when it may say something new: a change of a task it
                    # did not name (perhaps just followed), a poll, or REFRESH_SECONDS after the last read.
                    if named is None or named - followed or time.monotonic() - read_at >= REFRESH_SECONDS:
                        follows, read_at = await _follows(self.bridge, self.session_id), time.monotonic()
                        for task_id, status in follows["tasks"].items():
                            if task_id not in self.told:  # newly followed: it may have changed meanwhile
                                self.told[task_id] = status
                                named = named if named is None else named | {task_id}
                    for task_id in sorted(set(follows["tasks"]) | set(follows["resources"])):
                        if named is None or task_id in named:
                            await self._check(task_id, follows, changed=named is not None)
                    found = await changes.next(REFRESH_SECONDS)
                    if not found and self.ended:  # a quiet moment: the record forgets the tasks that ended
                        await self._forget_ended()
                    named = None if any(change.task_id is None for change in found) else {c.task_id for c in found}
                    if self.session_id not in _connections:  # nothing could be told yet: check all again
                        named = None
            except Exception:  # a watch that fails must not fail the stream: its client can poll
                log.exception("An MCP session's task watch stopped")

    async def _check(self, task_id: str, follows: Follows, *, changed: bool = False) -> None:
        status_followed = task_id in follows["tasks"] and self.told.get(task_id) not in TERMINAL
        if not status_followed and task_id not in follows["resources"]:
            return
        conn = _connections.get(self.session_id)
        if conn is None:
            # Not taken up here yet (a slow take-up outlasts _held_here): a status checked now could not be
            # sent, yet would count as told. The next pass checks again.
            return
        try:
            task = await self.bridge.call(self.caller, hub.get_task, task_id)
        except hub.NotFound:  # gone: nothing more to tell
            await self._unfollow(task_id)
            return
        wire = mcp_task(task)
        if status_followed and self.told.get(task_id) != wire["status"]:
            self.told[task_id] = wire["status"]
            # Sent as it is: the SDK's typed sending drops None values, and a Task's ``ttl`` is null here.
            await conn.notify("notifications/tasks/status", wire)
            if wire["status"] in TERMINAL:
                self.ended.add(task_id)
        if task_id in follows["resources"]:
            before, self.seen[task_id] = self.seen.get(task_id), task
            if changed or (before is not None and before != task):
                await conn.send_resource_updated(resource_uri(task_id))

    async def _forget_ended(self) -> None:
        ended, self.ended = self.ended, set()

        def forget(follows: Follows) -> None:
            for task_id in ended:
                follows["tasks"].pop(task_id, None)

        await _update(self.bridge, self.session_id, forget)

    async def _unfollow(self, task_id: str) -> None:
        def drop(follows: Follows) -> None:
            follows["tasks"].pop(task_id, None)
            if task_id in follows["resources"]:
                follows["resources"].remove(task_id)

        await _update(self.bridge, self.session_id, drop)


RESOURCE_SCHEME = "codetether://tasks/"


def resource_uri(task_id: str) -> str:
    return f"{RESOURCE_SCHEME}{task_id}"


# The hub's task statuses as MCP's (spec 2025-11-25, Tasks): an agent's queue
# and its run are both "working" to the requestor.
_STATUSES = {
    "pending": "working",
    "running": "working",
    "input_required": "input_required",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}
TERMINAL = frozenset({"completed", "failed", "cancelled"})
POLL_INTERVAL_MS = 5000  # a suggestion to clients that poll tasks/get: agent work takes minutes


def mcp_status(status: str) -> str:
    return _STATUSES.get(status, "working")


def mcp_task(task: hub.Task) -> dict[str, Any]:
    """The MCP ``Task`` of a hub task (its id is the hub's: one id everywhere)."""
    wire: dict[str, Any] = {
        "taskId": task["id"],
        "status": mcp_status(task["status"]),
        "createdAt": task["created_at"],
        "lastUpdatedAt": task["updated_at"],
        "ttl": None,  # kept until the user deletes it: no expiry
        "pollInterval": POLL_INTERVAL_MS,
    }
    message = _status_message(task)
    if message:
        wire["statusMessage"] = message
    return wire


def _status_message(task: hub.Task) -> str | None:
    status = task["status"]
    if status == "pending":
        return "Waiting for an agent worker."
    if status == "running":
        return "An agent is working on it."
    if status == "input_required":
        return "The agent asks a question: reply with send_message in the task's conversation."
    if status == "failed":
        return str(task.get("error") or "The agent failed.")
    return None
