"""Agent workers: tokens, registration, claiming tasks, leases, progress,
questions to the user, and the end of a run. Status changes go through ``tasks.transition``.

A claimed task is leased to its worker for HUB_WORKER_LEASE_SECONDS; each
heartbeat (or progress report) renews the lease. A lease that lapses puts
the task back to ``pending`` with ``retry_count + 1``, or fails it once
``max_retries`` retries are used. Leases are checked on every claim, by
waiting claims when the next lease is due, and by the sweeper.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update

from hub import live, wakeups
from hub.auth import WORKER_SCOPE, Principal
from hub.crypto import hash_secret
from hub.db import begin_write, db, new_id, utcnow
from hub.errors import Conflict, Forbidden, NotFound
from hub.models import Codebase, Space, Task, TaskOutput, User, Worker, WorkerToken
from hub.schemas import Page, fetch_page, paged
from hub.services import audit, conversations, questions, spaces, tasks

TOKEN_PREFIX = "ctw_"
LEASE_LAPSED = "The worker stopped renewing its lease {times} time(s); giving up after max_retries."


# -- tokens ------------------------------------------------------------------
# A token serves one space: its workers claim and see only that space's tasks
# (prompts, conversations). A hub-wide token (space_pk None) serves every
# space; only the hub's admin makes one, on purpose (`--hub-wide`).


def create_token(name: str, *, space_pk: int | None = None, creator: User | None = None) -> tuple[WorkerToken, str]:
    """Create a worker token for the space ``space_pk`` (None: hub-wide); the
    plain token is returned once, never stored. ``creator`` None: the CLI (no
    role check); a user must manage the space (NotFound if not a member) and
    be a hub admin for a hub-wide token."""
    if creator is not None:
        if space_pk is None:
            if not creator.is_admin:
                raise Forbidden("Only a hub admin may create a hub-wide worker token.", code="insufficient_role")
        else:
            _manage(creator, space_pk)
    elif space_pk is not None and db.session.get(Space, space_pk) is None:
        raise NotFound("No such space.")
    plain = new_id(TOKEN_PREFIX, 40)
    begin_write()
    token = WorkerToken(
        id=new_id("wtok_", 16),
        name=name.strip() or "worker",
        prefix=plain[:10],
        token_hash=hash_secret(plain),
        space_pk=space_pk,
    )
    db.session.add(token)
    if space_pk is not None:  # a hub-wide token belongs to no space's log
        audit.record(creator, "worker_token.created", space_pk=space_pk, target=token.id, detail={"name": token.name})
    db.session.commit()
    return token, plain


def _manage(user: User, space_pk: int) -> None:
    """Act in ``space_pk`` (NotFound unless a member; as in ``orgs``, a
    credential made for one org reaches no other) and require the role that
    manages its workers."""
    if space_pk != user.space_pk:
        reaches = user.space_pk == user.personal_space_pk or user.credential == "web"
        found = spaces.standing(user, space_pk) if reaches else None
        if found is None:
            raise NotFound("No such space among yours.")
        spaces.act_in(user, space_pk, found)
    spaces.require_role(user, "manage")


def create_space_token(user: User, name: str) -> tuple[WorkerToken, str]:
    """A token for the space ``user`` acts in (the web's and the API's entry)."""
    return create_token(name, space_pk=user.space_pk, creator=user)


def list_tokens(user: User | None = None) -> list[WorkerToken]:
    """The tokens of the space ``user`` acts in (their managers only); None:
    every token (the CLI)."""
    query = select(WorkerToken).order_by(WorkerToken.pk)
    if user is not None:
        spaces.require_role(user, "manage")
        query = query.where(WorkerToken.space_pk == user.space_pk)
    return list(db.session.scalars(query))


def revoke_token(token_id: str, *, actor: User | None = None, space_pk: int | None = None) -> WorkerToken:
    """Revoke a token (the CLI: any; with ``space_pk``: only that space's)."""
    begin_write()
    query = select(WorkerToken).where(WorkerToken.id == token_id)
    if space_pk is not None:
        query = query.where(WorkerToken.space_pk == space_pk)
    token = db.session.scalar(query)
    if token is None:
        db.session.rollback()
        raise NotFound(f"No worker token '{token_id}'.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        if token.space_pk is not None:
            audit.record(actor, "worker_token.revoked", space_pk=token.space_pk, target=token.id)
    db.session.commit()
    return token


def revoke_space_token(user: User, token_id: str) -> WorkerToken:
    """Revoke a token of the space ``user`` acts in (another space's: NotFound)."""
    spaces.require_role(user, "manage")
    return revoke_token(token_id, actor=user, space_pk=user.space_pk)


_TOKEN = (
    select(WorkerToken)
    .outerjoin(Space, Space.pk == WorkerToken.space_pk)
    .where(WorkerToken.token_hash == bindparam("digest"), WorkerToken.revoked_at.is_(None), Space.deleted_at.is_(None))
)


def principal_for_token(plain: str) -> Principal | None:
    """Read on every request (never cached): a revoked token, or one of a
    deleted space, stops at once."""
    token = db.session.scalar(_TOKEN, {"digest": hash_secret(plain)})
    if token is None or not hmac.compare_digest(token.token_hash, hash_secret(plain)):
        return None
    # No user and only the worker scope: no user-scoped route accepts it.
    return Principal(
        user=None,
        scopes=frozenset({WORKER_SCOPE}),
        via="worker_token",
        credential_id=token.id,
        space_pk=token.space_pk,
    )


def _token(principal: Principal) -> WorkerToken:
    return db.session.execute(select(WorkerToken).where(WorkerToken.id == principal.credential_id)).scalar_one()


def space_of(worker: Worker) -> Space | None:
    """The space the worker serves; None: every space (a hub-wide token)."""
    return db.session.get(Space, worker.token.space_pk) if worker.token.space_pk is not None else None


# -- workers -----------------------------------------------------------------


def register(principal: Principal, *, name: str, codebases: list[str], agent_types: list[str]) -> Worker:
    """Register a worker by name under the caller's token, or update it (a
    restarted worker keeps its id)."""
    begin_write()
    token = _token(principal)
    worker = db.session.scalar(select(Worker).where(Worker.token_pk == token.pk, Worker.name == name))
    if worker is None:
        worker = Worker(id=new_id("wrk_", 16), token_pk=token.pk, name=name)
        db.session.add(worker)
    worker.codebases = sorted(set(codebases))
    worker.agent_types = sorted(set(agent_types))
    worker.last_seen_at = token.last_used_at = utcnow()
    db.session.commit()
    return worker


def get_worker(principal: Principal, worker_id: str) -> Worker:
    worker = db.session.scalar(
        select(Worker).join(WorkerToken).where(Worker.id == worker_id, WorkerToken.id == principal.credential_id)
    )
    if worker is None:
        raise NotFound(f"No worker '{worker_id}' under this token; register first.")
    return worker


@dataclass
class WorkerState:
    """What an admin sees of a worker: the task it holds, and whether it
    still shows signs of life."""

    worker: Worker
    task: Task | None
    seen_seconds_ago: float
    alive: bool


def alive_seconds() -> float:
    """A live worker is seen at least this often: at each heartbeat while it
    runs a task (every third of a lease), at each claim while it waits (a
    claim waits at most HUB_WORKER_POLL_SECONDS)."""
    return max(lease_seconds(), float(current_app.config["HUB_WORKER_POLL_SECONDS"]))


def list_workers(user: User | None = None, *, limit: int = 200) -> list[WorkerState]:
    """Registered workers, most recently seen first: those under the tokens
    of the space ``user`` acts in (any member may look), or all (None: the
    admin page). ``last_seen_at`` moves on register, claim and heartbeat."""
    query = select(Worker).order_by(Worker.last_seen_at.desc(), Worker.pk.desc()).limit(limit)
    if user is not None:
        spaces.require_role(user, "read")
        query = query.join(WorkerToken).where(WorkerToken.space_pk == user.space_pk)
    found = list(db.session.scalars(query))
    held = (
        {
            task.worker_pk: task
            for task in db.session.scalars(
                select(Task).where(Task.status == "running", Task.worker_pk.in_([w.pk for w in found]))
            )
        }
        if found
        else {}
    )
    now, window = utcnow(), alive_seconds()
    states = []
    for worker in found:
        ago = max(0.0, (now - worker.last_seen_at).total_seconds())
        states.append(WorkerState(worker, held.get(worker.pk), ago, ago <= window))
    return states


def no_worker_for(task: Task) -> bool:
    """No worker that may claim ``task`` (its space, codebase and agent type,
    an unrevoked token) was seen within alive_seconds(): a pending task then
    waits for someone to attach one."""
    since = utcnow() - timedelta(seconds=alive_seconds())
    seen = db.session.scalars(
        select(Worker)
        .join(WorkerToken)
        .where(Worker.last_seen_at >= since, WorkerToken.revoked_at.is_(None))
        .where(or_(WorkerToken.space_pk.is_(None), WorkerToken.space_pk == task.space_pk))
    )
    return not any(
        (not w.codebases or task.codebase_id in w.codebases) and (not w.agent_types or task.agent_type in w.agent_types)
        for w in seen
    )


# -- claiming ----------------------------------------------------------------


def lease_seconds() -> float:
    return float(current_app.config["HUB_WORKER_LEASE_SECONDS"])


def claim(principal: Principal, worker_id: str) -> Task | None:
    """Give the worker the next pending task it may run (priority, then age),
    or None. Two claims never get one task: on PostgreSQL the row is taken
    with FOR UPDATE SKIP LOCKED; on SQLite the write transaction (BEGIN
    IMMEDIATE) admits one claimer at a time."""
    worker = get_worker(principal, worker_id)
    begin_write()
    expire_leases(commit=False)
    query = select(Task.pk).where(Task.status == "pending")
    if worker.token.space_pk is not None:  # a space's token never sees another space's tasks
        query = query.where(Task.space_pk == worker.token.space_pk)
    if worker.codebases:
        query = query.where(Task.codebase_pk.in_(select(Codebase.pk).where(Codebase.id.in_(worker.codebases))))
    if worker.agent_types:
        query = query.where(Task.agent_type.in_(worker.agent_types))
    query = query.order_by(Task.priority.desc(), Task.created_at, Task.pk).limit(1)
    pk = db.session.scalar(query.with_for_update(skip_locked=True))
    worker.last_seen_at = utcnow()
    task = None
    if pk is not None:
        task = db.session.get_one(Task, pk)
        tasks.transition(
            task,
            "running",
            worker_pk=worker.pk,
            error=None,
            lease_expires_at=utcnow() + timedelta(seconds=lease_seconds()),
        )
    db.session.commit()
    return task


def next_lease_expiry() -> datetime | None:
    """When the soonest running lease lapses (a waiting claim wakes then)."""
    return db.session.scalar(select(func.min(Task.lease_expires_at)).where(Task.status == "running"))


def expire_leases(*, commit: bool = True) -> int:
    """Take back running tasks whose lease lapsed; returns how many."""
    if commit:
        begin_write()
    lapsed = list(
        db.session.scalars(
            select(Task)
            .where(Task.status == "running", Task.lease_expires_at < utcnow())
            .with_for_update(skip_locked=True, of=Task)
        )
    )
    for task in lapsed:
        released = {"worker_pk": None, "lease_expires_at": None}
        if task.retry_count < task.max_retries:
            tasks.transition(task, "pending", retry_count=task.retry_count + 1, **released)
            wakeups.after_commit()
        else:
            tasks.transition(task, "failed", error=LEASE_LAPSED.format(times=task.retry_count + 1), **released)
    if commit:
        db.session.commit()
    return len(lapsed)


# -- a run -------------------------------------------------------------------


def _held_task(principal: Principal, task_id: str) -> Task:
    """The task, if a worker under the caller's token claimed it; 404
    otherwise (a worker token sees only the tasks its workers hold, and
    only in its own space)."""
    task = db.session.scalar(
        select(Task)
        .join(Worker, Task.worker_pk == Worker.pk)
        .join(WorkerToken)
        .where(Task.id == task_id, WorkerToken.id == principal.credential_id)
        .where(or_(WorkerToken.space_pk.is_(None), WorkerToken.space_pk == Task.space_pk))
    )
    if task is None:
        raise NotFound(f"No task '{task_id}' claimed with this token.")
    return task


def heartbeat(principal: Principal, task_id: str, output: str | None = None) -> Task:
    """Renew the lease (and append ``output``). The answer's status tells the
    worker to stop: ``cancelled`` (a user cancelled) or anything else than
    ``running`` (its lease lapsed and the task went elsewhere)."""
    begin_write()
    task = _held_task(principal, task_id)
    if task.status == "running":
        now = utcnow()
        task.lease_expires_at = now + timedelta(seconds=lease_seconds())
        db.session.execute(update(Worker).where(Worker.pk == task.worker_pk).values(last_seen_at=now))
        if output:
            db.session.add(TaskOutput(task_pk=task.pk, text=output, created_at=now))
            live.changed(task, live.OUTPUT)
    db.session.commit()
    return task


def complete(principal: Principal, task_id: str, result: str) -> Task:
    """Finish a run; in a conversation, the result becomes the agent's reply."""
    begin_write()
    task = _running(principal, task_id)
    tasks.transition(task, "completed", result=result, lease_expires_at=None)
    if task.conversation_pk:
        conversations.append_reply(task)
    db.session.commit()
    return task


def ask(principal: Principal, task_id: str, question: str) -> Task:
    """The agent stops to ask the user ``question``: the task waits for
    input (``hub.services.questions``) and the worker lets go of it; the
    reply makes it claimable again, by any worker."""
    begin_write()
    task = _running(principal, task_id)
    questions.ask(task, question)
    db.session.commit()
    return task


def fail(principal: Principal, task_id: str, error: str) -> Task:
    begin_write()
    task = _running(principal, task_id)
    tasks.transition(task, "failed", error=error, lease_expires_at=None)
    db.session.commit()
    return task


def _running(principal: Principal, task_id: str) -> Task:
    task = _held_task(principal, task_id)
    if task.status != "running":
        db.session.rollback()
        raise Conflict(
            f"Task '{task_id}' is {task.status}; this run's result is not taken.",
            code="task_not_running",
            extra={"task_status": task.status},
        )
    return task


def output_of(task: Task, *, after: int = 0, page: int = 0, limit: int = 50) -> Page[TaskOutput]:
    """A page of the task's output chunks after ``after`` (a ``seq``), oldest first."""
    query = select(TaskOutput).where(TaskOutput.task_pk == task.pk, TaskOutput.pk > after).order_by(TaskOutput.pk)
    return fetch_page(paged(query), page=page, limit=limit)


def output_tail(task: Task, limit: int) -> list[TaskOutput]:
    """The task's last ``limit`` output chunks, oldest first: what its page shows on opening."""
    query = select(TaskOutput).where(TaskOutput.task_pk == task.pk).order_by(TaskOutput.pk.desc()).limit(limit)
    return list(reversed(db.session.scalars(query).all()))
