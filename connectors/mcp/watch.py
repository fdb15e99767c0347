"""What one MCP session follows, and the notifications it is sent.

A session follows the tasks it started as MCP tasks (``notifications/tasks/status``
on each status change, until the task ends) and the task resources it
subscribed to (``notifications/resources/updated`` on any change). One watch
per session: one subscription to its user's task changes
(``hub.task_changes``), which the hub serves from one Redis connection per
process; it ends when the session follows nothing or closes. Notifications go
on the session's standalone stream (the client's GET).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, cast

import mcp_types as types
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from connectors.base import hub
from connectors.base.endpoint import Bridge, Caller
from connectors.mcp.server import caller_of

log = logging.getLogger(__name__)

_STATE = "codetether.watch"
WAKE_SECONDS = 30.0  # a quiet watch still wakes this often (no change is lost: the subscription holds them)


def allowed(ctx: ServerRequestContext[Any, Any], scope: str) -> Caller:
    """The caller, if their credential has ``scope`` (as the REST route
    asks); else an error naming it."""
    who = caller_of(ctx)
    if scope not in who.scopes:
        raise MCPError(types.INVALID_REQUEST, f"This token lacks the '{scope}' scope.", data={"required_scope": scope})
    return who


def connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    """The session's connection. The SDK (2.3) hands lowlevel handlers its
    session but no public handle on the connection, whose state and teardown
    outlive one request."""
    return ctx.session._connection


def watch(ctx: ServerRequestContext[Any, Any], bridge: Bridge) -> Watch:
    """This session's watch, made on its first use; stopped when the session closes."""
    conn = connection(ctx)
    found = conn.state.get(_STATE)
    if found is None:
        found = conn.state[_STATE] = Watch(bridge, caller_of(ctx), conn)
        conn.exit_stack.push_async_callback(found.stop)
    return cast(Watch, found)


class Watch:
    def __init__(self, bridge: Bridge, caller: Caller, conn: Connection) -> None:
        self.bridge, self.caller, self.conn = bridge, caller, conn
        self.statuses: dict[str, str] = {}  # task id -> the MCP status last sent
        self.resources: set[str] = set()  # task ids whose resource is subscribed
        self._changes: hub.TaskChanges | None = None
        self._job: asyncio.Task[None] | None = None

    async def follow_status(self, task: hub.Task) -> None:
        """Send ``task``'s status notifications from now on, until it ends
        (its status as created is known to the client: not sent)."""
        await self._started()
        self.statuses[task["id"]] = mcp_status(task["status"])
        await self._check(task["id"])  # what changed before we listened

    async def follow_resource(self, task_id: str) -> None:
        await self._started()
        self.resources.add(task_id)

    def unfollow_resource(self, task_id: str) -> None:
        self.resources.discard(task_id)

    async def _started(self) -> None:
        if self._job is None or self._job.done():
            self._changes = await self.bridge.call(self.caller, hub.task_changes)
            self._job = asyncio.get_running_loop().create_task(self._run(self._changes))

    async def _run(self, changes: hub.TaskChanges) -> None:
        try:
            while self.statuses or self.resources:
                found = await changes.next(WAKE_SECONDS)
                everything = any(change.task_id is None for change in found)
                named = {change.task_id for change in found}
                for task_id in sorted(set(self.statuses) | self.resources):
                    if everything or task_id in named:
                        await self._check(task_id)
        except Exception:  # a watch that fails must not fail the session: its client can poll
            log.exception("An MCP session's task watch stopped")
        finally:
            changes.close()

    async def _check(self, task_id: str) -> None:
        try:
            task = await self.bridge.call(self.caller, hub.get_task, task_id)
        except hub.NotFound:  # gone (or the account): nothing more to tell
            self.statuses.pop(task_id, None)
            self.resources.discard(task_id)
            return
        wire = mcp_task(task)
        if task_id in self.statuses and self.statuses[task_id] != wire["status"]:
            self.statuses[task_id] = wire["status"]
            # Sent as it is: the SDK's typed sending drops None values, and a Task's ``ttl`` is null here.
            await self.conn.notify("notifications/tasks/status", wire)
        if wire["status"] in TERMINAL:
            self.statuses.pop(task_id, None)
        if task_id in self.resources:
            await self.conn.send_resource_updated(resource_uri(task_id))

    async def stop(self) -> None:
        self.statuses.clear()
        self.resources.clear()
        if self._job is not None:
            self._job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._job
        if self._changes is not None:
            self._changes.close()


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
