"""Tasks: the only code that changes a task's state.

States: pending -> running -> completed | failed; pending | running ->
cancelled; running -> pending when a worker's lease lapses (retry_count + 1,
until max_retries, then failed); running -> input_required when the agent
asks a question, -> pending again on the user's reply (``hub.services.questions``),
or -> cancelled. Each change commits with its event.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, bindparam, func, select

from hub import live, tiers, wakeups
from hub.db import begin_write, db, new_id, utcnow
from hub.errors import Conflict, NotFound, TooManyRequests
from hub.models import Codebase, Conversation, Space, Task, User
from hub.models.tasks import ACTIVE_STATUSES
from hub.schemas import Page, dump_task, fetch_page, paged
from hub.services import callbacks, codebases, events, fast_create, spaces

# status -> the statuses it may become
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"running", "cancelled"}),
    "running": frozenset({"completed", "failed", "cancelled", "pending", "input_required"}),
    "input_required": frozenset({"pending", "cancelled"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}

EVENT_FOR_STATUS = {
    "running": "task.started",
    "input_required": "task.input_required",
    "completed": "task.completed",
    "failed": "task.failed",
    "cancelled": "task.cancelled",
}


def create_task(
    user: User,
    *,
    codebase_id: str | None = None,
    callback_url: str | None = None,
    callback_format: str | None = None,
    scopes: Iterable[str] | None = None,
    **fields: Any,
) -> Task:
    """Build, check, insert, record the event, commit. Building comes first:
    on SQLite one writer at a time holds the write lock, so it covers only
    the check and the inserts (``fast_create`` says how). With a
    ``callback_url`` the task gets its callback (``callbacks``), whose secret
    ``task.callback_secret`` holds for the create's answer alone; ``scopes``:
    the credential's (None: the dashboard's, all of them)."""
    callback = callbacks.prepare(callback_url, callback_format, event=callbacks.TASK_DONE, scopes=scopes)
    task = new_task(user, codebases.resolve(user, codebase_id), callback=callback, **fields)
    payload = dump_task(task)
    begin_write()
    add_task(user, task, payload, callback)
    db.session.commit()
    fast_create.attach(task)
    if callback:
        task.callback_secret = callback.secret  # type: ignore[attr-defined]  # not a column: the answer's alone
    return task


def new_task(
    user: User,
    codebase: Codebase,
    *,
    title: str,
    prompt: str,
    agent_type: str = "build",
    model: str | None = None,
    priority: int = 0,
    conversation: Conversation | None = None,
    external_id: str | None = None,
    metadata: dict[str, str] | None = None,
    callback: callbacks.Prepared | None = None,
) -> Task:
    """A pending task, not yet in the database (``add_task`` adds it).
    ``external_id`` and ``metadata``: the caller's, kept as given."""
    now = utcnow()
    columns = {
        "id": new_id("task_"),
        "user_pk": user.pk,
        "space_pk": user.space_pk,
        "title": title,
        "prompt": prompt,
        "status": "pending",
        "agent_type": agent_type or "build",
        "model": model,
        "priority": priority or 0,
        "external_id": external_id,
        "metadata_": metadata or None,
        "callback_shown_url": callback.shown_url if callback else None,
        "retry_count": 0,
        "max_retries": current_app.config["HUB_TASK_MAX_RETRIES"],
        "created_at": now,
        "updated_at": now,
    }
    return fast_create.new_task(codebase, conversation, columns)


def add_task(
    user: User, task: Task, payload: dict[str, Any] | None = None, callback: callbacks.Prepared | None = None
) -> Task:
    """Insert a task from ``new_task`` (and its callback) and its
    ``task.created`` event in the caller's write transaction (Send Message
    adds its message and task together); the caller commits. ``payload``: the
    task as dumped, if the caller has it. Its codebase and conversation must
    already be in the database. The task stays out of the session:
    ``create_task`` adds it once the commit has freed the lock."""
    spaces.require_role(user, "work")
    _check_concurrency(user)
    fast_create.insert(task)
    if callback:
        callbacks.add(task, callback)
    events.record(user.pk, user.space_pk, "task.created", payload or dump_task(task), task_id=task.id)
    wakeups.after_commit()
    live.changed(task, live.STATUS)
    return task


CONCURRENCY_RETRY_AFTER = 30  # seconds: a hint; tasks take minutes, a slot frees when one ends


def _check_concurrency(user: User) -> None:
    """Refuse a create past the tier's unfinished tasks (ACTIVE_STATUSES) in
    the space the user acts in (an organisation's members share its limit).
    Runs inside the create's write transaction, after locking the space's
    row (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers), so parallel creates are counted one after another."""
    limit = tiers.allowance(user).concurrent_tasks
    if limit is None:
        return
    db.session.execute(select(Space.pk).where(Space.pk == user.space_pk).with_for_update())
    active = (
        db.session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.space_pk == user.space_pk, Task.status.in_(ACTIVE_STATUSES))
        )
        or 0
    )
    if active >= limit:
        raise TooManyRequests(
            f"The {user.working_tier} tier allows {limit} unfinished (pending, running or waiting for input) "
            "tasks at once; wait for one to finish, or answer or cancel one.",
            code="concurrency_limit",
            extra={"limit": limit, "tier": user.working_tier},
            headers={"Retry-After": str(CONCURRENCY_RETRY_AFTER)},
        )


_TASK_BY_ID = select(Task).where(Task.id == bindparam("task_id"), Task.space_pk == bindparam("space_pk"))  # built once


def get_task(user: User, task_id: str) -> Task:
    """A task of the space the user acts in."""
    task = db.session.scalar(_TASK_BY_ID, {"task_id": task_id, "space_pk": user.space_pk})
    if task is None:
        raise NotFound(f"No task '{task_id}'.")
    return task


def list_tasks(user: User, *, page: int = 0, limit: int = 50, **filters: Any) -> Page[Task]:
    """A page of the user's tasks matching ``filters`` (see ``_matching``),
    newest first, and whether more pages follow (without counting every
    match: a poll costs the same on a big account)."""
    params = _matching(user, **filters)
    return fetch_page(_statement(tuple(params), page=True), page=page, limit=limit, params=params)


def count_tasks(user: User, **filters: Any) -> int:
    """How many of the user's tasks match ``filters``: one index scan over them all."""
    params = _matching(user, **filters)
    count: int = db.session.scalar(_statement(tuple(params), page=False), params)
    return count


def _matching(
    user: User,
    *,
    status: str | tuple[str, ...] | None = None,
    codebase_id: str | None = None,
    task_id: str | None = None,
    external_id: str | None = None,
    search: str | None = None,
    **times: datetime | None,
) -> dict[str, Any]:
    """The bound values of the filters given, by name (see ``_FILTERS``).
    ``search`` matches the title or prompt, ignoring case. ``times``: the
    ``<state>_after`` (inclusive) and ``<state>_before`` (exclusive) bounds
    of ``TIME_FILTERS``' timestamps."""
    params: dict[str, Any] = {"space_pk": user.space_pk}
    if isinstance(status, tuple):
        params["statuses"] = list(status)
    elif status:
        params["status"] = status
    if task_id:
        params["task_id"] = task_id
    if external_id:
        params["external_id"] = external_id
    if codebase_id:
        params["codebase_pk"] = codebases.resolve(user, codebase_id).pk
    for name, value in times.items():
        if name not in TIME_FILTERS:
            raise TypeError(f"unknown filter {name!r}")
        if value:
            params[name] = value
    if search:
        escaped = search.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
        params["search"] = f"%{escaped}%"
    return params


TIME_FILTERS = tuple(
    f"{state}_{side}" for state in ("created", "completed", "failed", "cancelled") for side in ("after", "before")
)

# Filter name -> its condition on the bound value of that name.
_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "space_pk": lambda: Task.space_pk == bindparam("space_pk"),
    "statuses": lambda: Task.status.in_(bindparam("statuses", expanding=True)),
    "status": lambda: Task.status == bindparam("status"),
    "task_id": lambda: Task.id == bindparam("task_id"),
    "codebase_pk": lambda: Task.codebase_pk == bindparam("codebase_pk"),
    "external_id": lambda: Task.external_id == bindparam("external_id"),
    # Each final state has its own timestamp: failed_after reads failed_at.
    "created_after": lambda: Task.created_at >= bindparam("created_after"),
    "created_before": lambda: Task.created_at < bindparam("created_before"),
    "completed_after": lambda: Task.completed_at >= bindparam("completed_after"),
    "completed_before": lambda: Task.completed_at < bindparam("completed_before"),
    "failed_after": lambda: Task.failed_at >= bindparam("failed_after"),
    "failed_before": lambda: Task.failed_at < bindparam("failed_before"),
    "cancelled_after": lambda: Task.cancelled_at >= bindparam("cancelled_after"),
    "cancelled_before": lambda: Task.cancelled_at < bindparam("cancelled_before"),
    "search": lambda: (
        func.lower(Task.title).like(bindparam("search"), escape="/")
        | func.lower(Task.prompt).like(bindparam("search"), escape="/")
    ),
}


@functools.cache
def _statement(names: tuple[str, ...], *, page: bool) -> Select[Any]:
    """The list (``page``) or count statement for one combination of
    filters, built once: building SQL on every call was a large part of a
    list (see bench/README.md, "Building SQL cost...")."""
    where = [_FILTERS[name]() for name in names]
    if not page:
        return select(func.count()).select_from(Task).where(*where)
    return paged(select(Task).where(*where).order_by(Task.created_at.desc(), Task.pk.desc()))


def cancel_task(user: User, task_id: str) -> Task:
    """Cancel a pending, running or input_required task. Cancelling a cancelled task is a
    no-op that answers the task, so retries are safe."""
    spaces.require_role(user, "work")
    begin_write()
    task = get_task(user, task_id)
    if task.status != "cancelled":
        transition(task, "cancelled")
    db.session.commit()
    return task


def transition(task: Task, to: str, *, detail: dict[str, Any] | None = None, **fields: Any) -> Task:
    """Move ``task`` to status ``to`` within the caller's transaction, stamp
    its timestamps, and record the event (the task, plus ``detail``: what the
    task's own fields do not say, e.g. the agent's question). The caller commits."""
    if to not in TRANSITIONS[task.status]:
        raise Conflict(
            f"Task '{task.id}' is {task.status}; it cannot become {to}.",
            code="invalid_transition",
            extra={"task_status": task.status},
        )
    now = utcnow()
    for name, value in fields.items():
        setattr(task, name, value)
    task.status = to
    live.changed(task, live.STATUS)
    task.updated_at = now
    if to == "running":
        task.started_at = now
    elif to == "completed":
        task.completed_at = now
    elif to == "failed":
        task.failed_at = now
    elif to == "cancelled":
        task.cancelled_at = now
    if to in ("completed", "failed") and task.started_at:
        task.duration_seconds = round((now - task.started_at).total_seconds(), 3)
    if to in EVENT_FOR_STATUS:
        events.record(
            task.user_pk, task.space_pk, EVENT_FOR_STATUS[to], {**dump_task(task), **(detail or {})}, task_id=task.id
        )
    return task
