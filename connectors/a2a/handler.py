"""A2A's requests answered from the hub: a2a-sdk's ``RequestHandler``
implemented on ``connectors.base.hub``.

Not the SDK's ``DefaultRequestHandler``: its ``AgentExecutor`` model runs
the agent inside the server's process, while the hub's agents are external
workers that claim tasks. Here a message becomes a hub task (the hub's
send-message rules), and the task's state is read from the hub whenever asked.
Every call runs for the signed-in caller (``connectors.base.endpoint``):
another user's task is "not found".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from importlib import import_module
from importlib.util import find_spec
from typing import Any, TypeVar

from a2a.server.context import ServerCallContext
from a2a.server.events.event_queue import Event
from a2a.server.request_handlers.request_handler import RequestHandler, validate_request_params
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils.errors import (
    A2AError,
    ExtendedAgentCardNotConfiguredError,
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from connectors.a2a import mapping, reads
from connectors.a2a.reads import Snapshot
from connectors.base import hub
from connectors.base.endpoint import Bridge, Caller

T = TypeVar("T")
PUSH = "connectors.a2a.push"  # the push-notification configs' module (push.py)
CALLER = "codetether.caller"  # where the context builder puts the caller (server.py)
# How long a blocking SendMessage waits for the task to end or ask; then it answers the task as it is (a
# client follows it with GetTask, SubscribeToTask or a push config). Agent work takes minutes.
BLOCKING_SECONDS = 60.0
QUIET_SECONDS = 15.0  # a stream re-reads its task at least this often, even when no change was heard
# The hub's input fields as A2A names them, for an invalid params error.
FIELDS = {
    "message": "message.parts",
    "conversation_id": "message.contextId",
    "metadata": "message.metadata",
    "agent_type": "message.metadata.agentType",
}
AGENT_TYPE = "agentType"  # the metadata key (the message's, or the request's) naming the agent: a card skill's id


def caller_of(context: ServerCallContext) -> Caller:
    who = context.state.get(CALLER)
    if not isinstance(who, Caller):  # only the hub's endpoint reaches this handler, always with a caller
        raise InvalidRequestError(message="Not signed in.")
    return who


def is_v03(context: ServerCallContext) -> bool:
    """Called by v0.3's method names (``message/send``, ``tasks/...``: 1.0's have no slash)."""
    return "/" in str(context.state.get("method", ""))


def agent_type_of(params: SendMessageRequest) -> str | None:
    """The agent a message asks for (one of the card's skills), by its
    metadata's ``agentType`` (the message's, else the request's)."""
    for metadata in (params.message.metadata, params.metadata):
        if AGENT_TYPE in metadata:
            value = metadata[AGENT_TYPE]
            if not isinstance(value, str):
                raise mapping.invalid(FIELDS["agent_type"], "agentType is a skill's id: " + ", ".join(hub.AGENT_TYPES))
            return value
    return None


def a2a_error(error: hub.HubError) -> A2AError:
    """A hub error in A2A's words (a task another user owns is not found)."""
    if isinstance(error, hub.NotFound):
        return TaskNotFoundError(message=error.message)
    if isinstance(error, hub.ValidationFailed):
        # The SDK's validation details (a list of field and message): its error handlers read them so.
        details = [
            {"field": FIELDS.get(name, name), "message": " ".join(messages) if isinstance(messages, list) else messages}
            for name, messages in (error.errors or {}).items()
        ]
        return InvalidParamsError(message=error.message, data={"errors": details})
    if isinstance(error, hub.Forbidden):
        return InvalidRequestError(message=error.message, data=error.extra or None)
    return InvalidRequestError(message=error.message, data={"code": getattr(error, "code", None)})


class HubRequestHandler(RequestHandler):
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.stopping = asyncio.Event()  # the process stops: streams and waits end now (server.py)

    async def call(self, context: ServerCallContext, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(user, ...)`` in the hub for the caller; hub errors as A2A's."""
        try:
            return await self.bridge.call(caller_of(context), fn, *args, **kwargs)
        except hub.HubError as error:
            raise a2a_error(error) from None

    # Tasks

    @validate_request_params
    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        history = params.history_length if params.HasField("history_length") else None
        if history is not None and history < 0:
            raise mapping.invalid("historyLength", "historyLength must be 0 or more.")
        snapshot = await self.call(context, reads.snapshot, params.id, messages=True)
        return snapshot.a2a(history_length=history)

    async def on_list_tasks(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        return await self.call(context, reads.list_tasks, params)

    @validate_request_params
    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task | None:
        try:
            await self.bridge.call(caller_of(context), hub.cancel_task, params.id)
        except hub.Conflict as ended:
            raise TaskNotCancelableError(message=ended.message) from None
        except hub.HubError as error:
            raise a2a_error(error) from None
        snapshot = await self.call(context, reads.snapshot, params.id, messages=True)
        return snapshot.a2a()

    # Messages

    @validate_request_params
    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Task | Message:
        task_id, snapshot = await self._send(params, context, read=True)
        # A wait holds a web thread: with none to spare, the task as it is (as returnImmediately answers it).
        place = None if params.configuration.return_immediately else await self.call(context, hub.long_request)
        if place is not None:
            with place:
                snapshot = await self._settled(context, task_id, BLOCKING_SECONDS)
        elif snapshot is None:
            snapshot = await self.call(context, reads.snapshot, task_id)
        history = params.configuration.history_length if params.configuration.HasField("history_length") else None
        return snapshot.a2a(history_length=history)

    @validate_request_params
    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        with await self._long_request(context):  # before the task is made: a refused stream makes none
            task_id, _ = await self._send(params, context)
            async for event in self._follow(context, task_id):
                yield event

    @validate_request_params
    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        snapshot = await self.call(context, reads.snapshot, params.id)
        if snapshot.task["status"] in mapping.ENDED:
            raise UnsupportedOperationError(
                message=f"Task {params.id} is {snapshot.task['status']}: nothing more will happen (GetTask reads it)."
            )
        with await self._long_request(context):
            async for event in self._follow(context, params.id):
                yield event

    async def _long_request(self, context: ServerCallContext) -> hub.LongRequest:
        """A place for a stream (it holds a web thread), or an error the client retries later."""
        place = await self.call(context, hub.long_request)
        if place is None:
            raise InternalError(message="This server serves as many streams as it may; try again shortly.")
        return place

    async def _send(
        self, params: SendMessageRequest, context: ServerCallContext, *, read: bool = False
    ) -> tuple[str, Snapshot | None]:
        """The message as the hub's: a new task in its context (conversation),
        or the answer a waiting task asked for; the task's id, and (``read``)
        the task as it is then, read in the same call. Its push config, if
        any, is the task's callback."""
        message = params.message
        text = "\n".join(part.text for part in message.parts if part.HasField("text")).strip()
        if not text:
            raise mapping.invalid("message.parts", "The message needs a text part: what to ask the agent.")
        scopes = caller_of(context).scopes
        configured = params.configuration.HasField("task_push_notification_config")
        return await self.call(
            context,
            reads.send,
            text,
            message.context_id,
            message.task_id,
            scopes,
            read=read,
            push_config=params.configuration.task_push_notification_config if configured else None,
            v03=is_v03(context),
            agent_type=agent_type_of(params),
        )

    async def _settled(self, context: ServerCallContext, task_id: str, seconds: float) -> Snapshot:
        """The task once it ended or asks the user (or as it is after ``seconds``)."""
        if seconds <= 0:
            return await self.call(context, reads.snapshot, task_id, messages=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        with await self.call(context, hub.task_changes, task_id) as changes:
            while True:
                snapshot = await self.call(context, reads.snapshot, task_id, messages=True)
                left = deadline - loop.time()
                if snapshot.task["status"] in mapping.SETTLED or left <= 0 or self.stopping.is_set():
                    return snapshot
                await self._next(changes, min(left, QUIET_SECONDS))

    async def _follow(self, context: ServerCallContext, task_id: str) -> AsyncGenerator[Event]:
        """The task, then its changes as they commit: the agent's output as it
        comes (an artifact appended to), each new status, the result (an
        artifact) when it completes. Ends when the task ended or asks the user."""
        with await self.call(context, hub.task_changes, task_id) as changes:
            snapshot = await self.call(context, reads.snapshot, task_id, messages=True, output_after=0)
            yield snapshot.a2a()
            told, seq = snapshot.task["status"], 0
            while True:
                if snapshot.output:
                    artifact = mapping.output_artifact(task_id, snapshot.output)
                    yield mapping.artifact_event(snapshot.task, artifact, append=seq > 0, last=False)
                    seq = snapshot.output[-1]["seq"]
                caught_up = len(snapshot.output) < reads.PAGE_MAX  # else more output waits: sent first
                if caught_up and snapshot.task["status"] != told:
                    told = snapshot.task["status"]
                    result = mapping.result_artifact(snapshot.task)
                    if result is not None:
                        yield mapping.artifact_event(snapshot.task, result, append=False, last=True)
                    yield mapping.status_event(snapshot.task, snapshot.question)
                if (caught_up and told in mapping.SETTLED) or self.stopping.is_set():
                    return
                if caught_up:  # else the next page of output at once, then the status
                    await self._next(changes, QUIET_SECONDS)
                snapshot = await self.call(context, reads.snapshot, task_id, messages=False, output_after=seq)
                if snapshot.task["status"] == "input_required":  # its question is the status's message
                    snapshot = await self.call(context, reads.snapshot, task_id, messages=True, output_after=seq)

    async def _next(self, changes: hub.TaskChanges, seconds: float) -> None:
        """Until the task changes, ``seconds`` pass, or the process stops."""
        heard = asyncio.ensure_future(changes.next(seconds))
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait((heard, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (heard, stop):
                waiting.cancel()

    # Push notification configs: push.py's (connectors.a2a.push)

    async def _push(self, name: str, params: Any, context: ServerCallContext, **options: Any) -> Any:
        if find_spec(PUSH) is None:
            raise UnsupportedOperationError(message="Push notifications are not available on this hub yet.")
        # The caller's scopes: a config is a callback, which needs the read scope of what it carries.
        push = getattr(import_module(PUSH), name)
        return await self.call(context, push, params, scopes=caller_of(context).scopes, **options)

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        created: TaskPushNotificationConfig = await self._push("create_config", params, context, v03=is_v03(context))
        return created

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        found: TaskPushNotificationConfig = await self._push("get_config", params, context, v03=is_v03(context))
        return found

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        listed: ListTaskPushNotificationConfigsResponse = await self._push("list_configs", params, context)
        return listed

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        await self._push("delete_config", params, context)

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        raise ExtendedAgentCardNotConfiguredError(message="The public agent card is the whole card.")
