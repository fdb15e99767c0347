"""The hub, as a connector sees it: the only hub API a connector imports.

Everything here is plain data: a task, a message, a codebase is the ``dict``
the core REST API answers for it (``GET /api/v1/tasks/<id>`` and the rest),
dumped by the hub's own schemas, so a connector never touches the hub's
models or sessions. ``user`` is the caller a connector's function was given
(``perform(user, **input)``, ``list(user, page=, limit=)``): pass it on as it
is. Lists come a ``Page`` at a time: ``Page(items, more)``.

Errors are the hub's own (``HubError`` and its kinds): bad input is a
``ValidationFailed`` naming each field (``error.errors``: field -> messages),
another user's task or conversation is ``NotFound``; the connector's routes
answer them as the core API does (422, 404, ...), so a connector lets them
pass.

Compatibility promise (``API_VERSION``, MAJOR.MINOR): a minor version may add
functions, optional keyword arguments, keys of the plain data, input fields
with defaults, constants' values (a new agent type or status) and error kinds
that subclass those here. Only a major version removes or renames any of
these, changes a signature's required arguments, changes what a key holds, or
makes a field required: a connector written for 1.x works with any 1.y.

Versions: 1.0, the first; 1.1 adds ``task_changes`` (``TaskChange``,
``TaskChanges``): wait for a user's task changes as they commit; 1.2 adds the
status ``input_required`` (the agent asked a question, in the task's
conversation) and ``reply_to_task``: the user's answer, which resumes the task;
1.3 adds ``task_output`` (``OutputChunk``): the output a task's worker streamed
back; ``base_url`` and ``oauth_metadata_url``: where the hub is, for
documents that name it (an agent card); ``on_stop``: end long waits (a stream)
when the process stops; several callbacks per task, ``add_callback``'s
``headers``, ``status_updates`` and ``external_id`` and its answer's ``callback_id``, and
``list_callbacks``, ``get_callback``, ``delete_callback`` (``Callback``);
``send_message``'s ``with_task``: the task the message started, in its answer;
``check_callback``: a callback checked before its task exists; ``send_message``'s ``agent_type``;
1.4 adds ``long_request`` (``LongRequest``): a place for a request that holds a web thread for long.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias

import marshmallow as ma

from hub import live, long_requests, protected_resources, wakeups
from hub.errors import Conflict, Forbidden, HubError, NotFound, TooManyRequests, ValidationFailed, flatten_field_errors
from hub.errors import describe as _describe
from hub.models import User
from hub.models.tasks import ACTIVE_STATUSES, AGENT_TYPES, EXTERNAL_ID_MAX, STATUSES
from hub.schemas import (
    CodebaseSchema,
    MessageCreatedSchema,
    MessageSchema,
    OptionalStr,
    Page,
    PageArgs,
    RequiredText,
    TaskCreatedSchema,
    TaskSchema,
    UTCDateTime,
    WholeNumber,
    dump_message,
    dump_task,
    task_url,
)
from hub.schemas import MessageCreateSchema as MessageInput
from hub.schemas import TaskCreateSchema as TaskInput
from hub.services import callbacks, codebases, conversations, questions, tasks, workers

API_VERSION = "1.4"

__all__ = [
    "ACTIVE_STATUSES",
    "AGENT_TYPES",
    "API_VERSION",
    "EXTERNAL_ID_MAX",
    "STATUSES",
    "Callback",
    "Codebase",
    "CodebaseOutput",
    "Conflict",
    "Forbidden",
    "HubError",
    "LongRequest",
    "Message",
    "MessageInput",
    "MessageOutput",
    "NotFound",
    "OptionalStr",
    "OutputChunk",
    "Page",
    "RequiredText",
    "Task",
    "TaskChange",
    "TaskChanges",
    "TaskInput",
    "TaskOutput",
    "TooManyRequests",
    "UTCDateTime",
    "User",
    "ValidationFailed",
    "WholeNumber",
    "add_callback",
    "base_url",
    "cancel_task",
    "check_callback",
    "count_tasks",
    "create_task",
    "delete_callback",
    "get_callback",
    "get_task",
    "list_callbacks",
    "list_codebases",
    "list_messages",
    "list_tasks",
    "long_request",
    "oauth_metadata_url",
    "on_stop",
    "reply_to_task",
    "send_message",
    "task_changes",
    "task_output",
    "task_url",
]

Task: TypeAlias = dict[str, Any]  # TaskSchema's JSON: id, title, prompt, status, result, url, ... (see /openapi.json)
Message: TypeAlias = dict[str, Any]  # MessageSchema's JSON: id, conversation_id, role, content, task_id, ...
Codebase: TypeAlias = dict[str, Any]  # CodebaseSchema's JSON: id, name, path, description, created_at
# A task's callback: id, task_id, url (its scheme and host alone: the URL is a secret), event, status_updates,
# external_id (the caller's own id for it), format, created_at; never its secret or headers.
Callback: TypeAlias = dict[str, Any]
OutputChunk: TypeAlias = dict[str, Any]  # as GET /api/v1/tasks/<id>/output lists it: seq, text, created_at
TaskChange: TypeAlias = live.Change  # (task_id, what): what of {"status", "output", "message", "poll"} changed
TaskChanges: TypeAlias = live.Subscription  # get(timeout) / await next(timeout) -> [TaskChange, ...]; close()
LongRequest: TypeAlias = long_requests.Hold  # close() (or a with block) gives the place back


class _PlainData(ma.Schema):
    """An output schema for data this module already dumped: a dict is
    answered as it is (its declared keys), anything else is dumped by the
    hub's schema. The fields stay the hub's, so docs and generated apps
    describe the same JSON."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        many = self.many if many is None else many
        items = list(obj) if many else [obj]
        if not items or not all(isinstance(item, Mapping) for item in items):
            return super().dump(items if many else obj, many=many)
        keys = [field.data_key or name for name, field in self.fields.items() if not field.load_only]
        plain = [{key: item[key] for key in keys if key in item} for item in items]
        return plain if many else plain[0]


class TaskOutput(_PlainData, TaskSchema):
    """A task, as an action's or search's ``output_schema``."""


class MessageOutput(_PlainData, MessageSchema):
    """A message, as an action's or search's ``output_schema``."""


class CodebaseOutput(_PlainData, CodebaseSchema):
    """A codebase, as an ``output_schema``."""


def _load(schema: ma.Schema, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` (None: not given) as ``schema`` loads it, or the hub's
    ValidationFailed naming every bad field, as the REST API's 422 does."""
    try:
        loaded: dict[str, Any] = schema.load({key: value for key, value in given.items() if value is not None})
    except ma.ValidationError as bad:
        errors = flatten_field_errors({"json": bad.messages})
        field, messages = next(iter(errors.items()))
        failed = ValidationFailed(field, " ".join(map(str, messages)) if isinstance(messages, list) else str(messages))
        failed.errors, failed.message = errors, _describe(errors)
        raise failed from None
    return loaded


_TASK_INPUT = TaskInput()
_CALLBACK_INPUT = TaskInput(only=("callback_url", "callback_format"))
_MESSAGE_INPUT = MessageInput()
_REPLY_INPUT = MessageInput(only=("message",))  # a reply's text: as a sent message's
_PAGE = PageArgs()
_TASK_CREATED = TaskCreatedSchema()
_MESSAGE_CREATED = MessageCreatedSchema()
_CODEBASES = CodebaseSchema(many=True)
_CREATED_AT = UTCDateTime()
_UTC = UTCDateTime(attribute="created_at")  # as the REST API writes a time


def _page_args(page: int, limit: int) -> dict[str, int]:
    return _load(_PAGE, {"page": page, "limit": limit})


# Tasks


def create_task(
    user: User,
    *,
    title: str,
    prompt: str,
    codebase_id: str | None = None,
    agent_type: str | None = None,
    model: str | None = None,
    priority: int | None = None,
    external_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
    callback_url: str | None = None,
    callback_format: str | None = None,
    scopes: Iterable[str] | None = None,
) -> Task:
    """Create a task for an AI agent, as ``POST /api/v1/tasks`` does, and
    answer it (its ``callback_secret`` too, given a ``callback_url``: shown
    only now). The fields are ``TaskInput``'s; None is "not given" (its
    default). ``codebase_id``: the user's, or their ``global`` one.
    ``scopes``: the caller's credential's (``Action(takes_scopes=True)``
    hands them to ``perform``): a callback needs ``tasks:read`` (else
    ``Forbidden``). Raises ``TooManyRequests`` past the user's tier's
    unfinished tasks."""
    fields = _load(
        _TASK_INPUT,
        {
            "title": title,
            "prompt": prompt,
            "codebase_id": codebase_id,
            "agent_type": agent_type,
            "model": model,
            "priority": priority,
            "external_id": external_id,
            "metadata": metadata,
            "callback_url": callback_url,
            "callback_format": callback_format,
        },
    )
    created: Task = _TASK_CREATED.dump(tasks.create_task(user, scopes=scopes, **fields))
    return created


def get_task(user: User, task_id: str) -> Task:
    """The user's task ``task_id`` (``GET /api/v1/tasks/<id>``); ``NotFound``
    for an unknown id or another user's task."""
    return dump_task(tasks.get_task(user, task_id))


def list_tasks(
    user: User,
    *,
    page: int = 0,
    limit: int = 50,
    status: str | tuple[str, ...] | None = None,
    codebase_id: str | None = None,
    task_id: str | None = None,
    external_id: str | None = None,
    search: str | None = None,
    **times: datetime | None,
) -> Page[Task]:
    """A page of the user's tasks matching every filter given (None: not
    set), newest first, as ``GET /api/v1/tasks`` lists them. ``status``: one
    of ``STATUSES``, or a tuple of them (e.g. ``ACTIVE_STATUSES``);
    ``search``: in the title or prompt, ignoring case; ``times``:
    ``<state>_after`` (inclusive) and ``<state>_before`` (exclusive) for
    ``state`` in created, completed, failed, cancelled, each read from the
    task's own ``<state>_at`` (naive datetimes are UTC). ``page`` is 0-based;
    ``limit`` 1 to 100."""
    args = _page_args(page, limit)
    filters = _filters(user, status, codebase_id, task_id, external_id, search, times)
    found = tasks.list_tasks(user, **args, **filters)
    return Page([dump_task(task) for task in found.items], found.more)


def count_tasks(
    user: User,
    *,
    status: str | tuple[str, ...] | None = None,
    codebase_id: str | None = None,
    task_id: str | None = None,
    external_id: str | None = None,
    search: str | None = None,
    **times: datetime | None,
) -> int:
    """How many of the user's tasks match ``list_tasks``' filters (a scan of
    them all: call it only when a page says ``more``)."""
    return tasks.count_tasks(user, **_filters(user, status, codebase_id, task_id, external_id, search, times))


def _filters(
    user: User,
    status: str | tuple[str, ...] | None,
    codebase_id: str | None,
    task_id: str | None,
    external_id: str | None,
    search: str | None,
    times: Mapping[str, datetime | None],
) -> dict[str, Any]:
    for one in (status,) if isinstance(status, str) else status or ():
        if one not in STATUSES:
            raise ValidationFailed("status", f"Must be one of: {', '.join(STATUSES)}.")
    unknown = [name for name in times if name not in tasks.TIME_FILTERS]
    if unknown:
        raise ValidationFailed(unknown[0], f"Unknown filter; use one of: {', '.join(tasks.TIME_FILTERS)}.")
    utc = {name: _naive_utc(value) for name, value in times.items() if value is not None}
    given = {"codebase_id": codebase_id, "task_id": task_id, "external_id": external_id, "search": search}
    return {"status": status, **{name: value for name, value in given.items() if value}, **utc}


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def cancel_task(user: User, task_id: str) -> Task:
    """Cancel a pending, running or input_required task (``POST /api/v1/tasks/<id>/cancel``)
    and answer it; a cancelled task answers as it is, so a retry is safe.
    ``Conflict`` if it already completed or failed; ``NotFound`` if it is not
    the user's."""
    return dump_task(tasks.cancel_task(user, task_id))


def add_callback(
    user: User,
    task_id: str,
    url: str,
    *,
    format: str | None = None,
    scopes: Iterable[str] | None = None,
    headers: Mapping[str, str] | None = None,
    status_updates: bool = False,
    external_id: str | None = None,
) -> Task:
    """Call ``url`` back once when the user's unfinished task ends, as
    ``callback_url`` on its create would (docs/webhooks.md, "Per-task
    callbacks"): one signed POST of the task in ``format`` (None: the
    standard envelope) when it completes, fails or is cancelled; for a Send
    Message turn, of the agent's reply. This is how a workflow waits on a
    task it did not create; a task may have several callbacks, each
    independent. ``headers``: sent with each POST (an ``Authorization``),
    stored sealed and never shown again. ``status_updates``: POST the task
    also each time its agent asks a question (``task.input_required``), and
    the task (not the reply) at its end, as an A2A push config expects.
    ``external_id``: the caller's own id for the callback (in ``Callback``);
    it replaces the task's callback of that id, if any.
    Answers the task with its ``callback_secret`` and ``callback_id`` (shown
    only now). ``scopes``: as for ``create_task``. ``NotFound``: not the
    user's; ``Conflict``: it has ended."""
    given = _load(_CALLBACK_INPUT, {"callback_url": url, "callback_format": format})
    if not given.get("callback_url"):
        raise ValidationFailed("callback_url", "Must not be empty.")
    task = callbacks.attach(
        user,
        task_id,
        given["callback_url"],
        given.get("callback_format"),
        scopes=scopes,
        headers=headers,
        status_updates=status_updates,
        external_id=external_id,
    )
    answer: Task = _TASK_CREATED.dump(task)
    answer["callback_id"] = task.callback_id  # type: ignore[attr-defined]  # the answer's alone
    return answer


def check_callback(
    url: str,
    *,
    format: str | None = None,
    scopes: Iterable[str] | None = None,
    headers: Mapping[str, str] | None = None,
    external_id: str | None = None,
) -> None:
    """What ``add_callback`` (with ``status_updates``) would refuse of a
    callback, checked before there is a task: ``ValidationFailed`` naming the
    field (the URL's SSRF guard and ``external_id`` too), ``Forbidden`` for
    the scopes. So a request bringing a callback with its task can refuse it
    before creating the task."""
    callbacks.check_external_id(external_id)
    given = _load(_CALLBACK_INPUT, {"callback_url": url, "callback_format": format})
    if not given.get("callback_url"):
        raise ValidationFailed("callback_url", "Must not be empty.")
    callbacks.prepare(
        given["callback_url"], given.get("callback_format"), event=callbacks.TASK_DONE, scopes=scopes, headers=headers
    )


def _callback(found: dict[str, Any]) -> Callback:
    return {**found, "created_at": _CREATED_AT.serialize("created_at", found)}


def list_callbacks(user: User, task_id: str) -> list[Callback]:
    """The callbacks of the user's task that are not deleted, oldest first
    (``Callback``: never a URL's path, a secret or headers); ``NotFound`` if
    the task is not the user's."""
    return [_callback(found) for found in callbacks.list_for(user, task_id)]


def get_callback(user: User, task_id: str, callback_id: str) -> Callback:
    """One callback of the user's task; ``NotFound`` if the task is not the
    user's or has no such callback."""
    return _callback(callbacks.get(user, task_id, callback_id))


def delete_callback(user: User, task_id: str, callback_id: str) -> None:
    """Stop one callback of the user's task: it is not sent, nor retried;
    ``NotFound`` if the task is not the user's or has no such (live) callback."""
    callbacks.delete(user, task_id, callback_id)


def task_changes(user: User, task_id: str | None = None) -> TaskChanges:
    """Changes of the user's tasks from now on (or of their task
    ``task_id``: ``NotFound`` if it is not theirs), as they commit: the
    status, the worker's output, a message of its conversation. Wait from a
    thread (``changes.get(timeout)``) or a coroutine (``await
    changes.next(timeout)``): both answer the changes (``TaskChange``) since the
    last call, merged per task ([] if none came in time). A change names the
    task, not its data: read it (``get_task``). ``poll`` says changes may
    have been missed (Redis was unreachable): read again what you watch.
    Close it when done (or use ``with``). One Redis connection per process
    serves every subscription."""
    if task_id is not None:
        tasks.get_task(user, task_id)
    return live.subscribe(user.space_pk, task_id)


def task_output(user: User, task_id: str, *, after: int = 0, limit: int = 50) -> Page[OutputChunk]:
    """The output the agent of the user's task streamed back (its worker's
    heartbeats), oldest first: up to ``limit`` chunks after the chunk ``after``
    (a ``seq``; 0: from the start), as ``GET /api/v1/tasks/<id>/output``
    lists them. Follow along: pass the last ``seq`` seen (a change ``output``
    of ``task_changes`` says more came). ``NotFound`` if it is not the user's."""
    args = _page_args(0, limit)
    found = workers.output_of(tasks.get_task(user, task_id), after=max(after, 0), limit=args["limit"])
    chunks = [{"seq": chunk.pk, "text": chunk.text, "created_at": _UTC.serialize("at", chunk)} for chunk in found.items]
    return Page(chunks, found.more)


# Conversations and messages


def send_message(
    user: User,
    *,
    message: str,
    conversation_id: str | None = None,
    codebase_id: str | None = None,
    external_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
    callback_url: str | None = None,
    callback_format: str | None = None,
    scopes: Iterable[str] | None = None,
    with_task: bool = False,
    agent_type: str | None = None,
) -> Message:
    """Send the user's message to an agent, as ``POST /api/v1/messages``
    does: it continues the conversation ``conversation_id``, or starts it if
    the hub has not seen that id (any caller's thread id works; None: a new
    one). The answer is the user's message; its ``task_id`` names the task
    whose reply will follow (a ``message.created`` with role ``assistant``).
    The fields are ``MessageInput``'s; a callback fires on the agent's reply
    and needs ``messages:read`` in ``scopes``. A message to a conversation
    whose task waits for input (``input_required``) is that task's reply: it
    resumes the same task, which ``task_id`` names. ``with_task``: the answer's
    ``task`` is the task this message started, as ``get_task`` would answer it
    then (None when it resumed a waiting task), with no second read.
    ``agent_type``: one of ``AGENT_TYPES`` for the task it starts (None:
    ``general``); a resumed task keeps its own."""
    if agent_type is not None and agent_type not in AGENT_TYPES:
        raise ValidationFailed(
            "agent_type", f"Unknown agent type '{agent_type}'; use one of: {', '.join(AGENT_TYPES)}."
        )
    fields = _load(
        _MESSAGE_INPUT,
        {
            "message": message,
            "conversation_id": conversation_id,
            "codebase_id": codebase_id,
            "external_id": external_id,
            "metadata": metadata,
            "callback_url": callback_url,
            "callback_format": callback_format,
        },
    )
    message_sent = conversations.send_message(user, scopes=scopes, agent_type=agent_type or "general", **fields)
    sent: Message = _MESSAGE_CREATED.dump(message_sent)
    if with_task:
        started = getattr(message_sent, "started_task", None)
        sent["task"] = dump_task(started) if started is not None else None
    return sent


def reply_to_task(user: User, task_id: str, message: str) -> Message:
    """Answer the question the agent of the user's task asked
    (``POST /api/v1/tasks/<id>/messages``): the reply joins the task's
    conversation and the same task resumes (pending again). The answer is the
    user's message. ``Conflict`` (``task_not_waiting``) unless the task is
    ``input_required``; ``NotFound`` if it is not the user's. The question is
    the task's conversation's latest assistant message (``list_messages``), and
    the ``task.input_required`` event's ``question``."""
    given = _load(_REPLY_INPUT, {"message": message})
    sent: Message = dump_message(questions.reply(user, task_id, given["message"]))
    return sent


def list_messages(user: User, conversation_id: str, *, page: int = 0, limit: int = 50) -> Page[Message]:
    """A page of a conversation's messages, oldest first
    (``GET /api/v1/conversations/<id>/messages``); ``NotFound`` if it is not
    the user's."""
    found = conversations.list_messages(user, conversation_id, **_page_args(page, limit))
    return Page([dump_message(message) for message in found.items], found.more)


# Codebases


def list_codebases(user: User, *, page: int = 0, limit: int = 50) -> Page[Codebase]:
    """A page of the user's codebases, oldest first (``global`` first), as
    ``GET /api/v1/codebases`` lists them."""
    found = codebases.list_codebases(user, **_page_args(page, limit))
    listed: list[Codebase] = _CODEBASES.dump(found.items)
    return Page(listed, found.more)


# Where the hub is


def base_url() -> str:
    """The hub's public URL (``HUB_BASE_URL``, no trailing slash): links in
    what a connector answers, e.g. its endpoint's in a discovery document."""
    return protected_resources.base_url().rstrip("/")


def oauth_metadata_url() -> str:
    """The hub's OAuth 2.0 authorization server metadata (RFC 8414), where an
    OAuth client finds how to sign a user in and get a token for the hub."""
    return base_url() + "/.well-known/oauth-authorization-server"


def on_stop(callback: Callable[[], None]) -> None:
    """Call ``callback`` when this process begins to stop (a deploy, a
    restart): the server waits for every request in flight, so a long wait
    (an event stream, a long-poll) should end now and its client come back.
    It is called from a signal handler: it must only hand work on, e.g.
    ``loop.call_soon_threadsafe(stopping.set)``."""
    wakeups.on_stop(callback)


def long_request(user: User) -> LongRequest | None:
    """A place for a request that holds a web thread for long (a stream, a
    blocking wait), or None: this process already serves as many as it may
    (half its threads, shared with the hub's own live pages). Answer then
    without waiting (the state as it is, or an error to retry); close the
    place when the request ends."""
    return long_requests.hold()
