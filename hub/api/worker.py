"""The worker API: how agent workers take tasks and report on them.

Authenticated by worker tokens (``ctw_…``), never by users' credentials. A
worker registers, claims (long-poll), heartbeats while it runs, and
completes, fails, or asks the user a question. See docs/workers.md for the protocol.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from flask.views import MethodView
from marshmallow import fields, validate

from hub import wakeups
from hub.api import input_guard
from hub.api.base import Blueprint, ErrorSchema
from hub.auth import WORKER_SCOPE
from hub.db import db, utcnow
from hub.models.tasks import AGENT_TYPES
from hub.schemas import RequiredText, TaskSchema, UTCDateTime
from hub.services import conversations, workers

blp = Blueprint(
    "worker",
    __name__,
    url_prefix="/api/v1/worker",
    description="For agent workers: claim tasks, hold their lease, report results (worker tokens only)",
)

MAX_OUTPUT = 1_000_000  # characters per result, error or progress report
# JSON escapes a character to at most six bytes (\uXXXX); room for the rest of the body.
input_guard.allow_larger_bodies(blp.name, 6 * MAX_OUTPUT + 64 * 1024)


class RegisterSchema(ma.Schema):
    name = RequiredText(max_length=200, metadata={"description": "Unique under this token, e.g. the host name"})
    codebases = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "Codebase ids it serves; empty = any"},
    )
    agent_types = fields.List(
        fields.String(validate=validate.OneOf(AGENT_TYPES)),
        load_default=list,
        metadata={"description": "Agent types it runs; empty = any"},
    )


class WorkerSchema(ma.Schema):
    worker_id = fields.Function(lambda w: w.id, metadata={"type": "string"})
    name = fields.String()
    codebases = fields.List(fields.String())
    agent_types = fields.List(fields.String())
    lease_seconds = fields.Function(lambda w: workers.lease_seconds(), metadata={"type": "number"})
    heartbeat_seconds = fields.Function(
        lambda w: heartbeat_seconds(),
        metadata={"type": "number", "description": "Send a heartbeat at least this often while running a task"},
    )
    poll_seconds = fields.Function(
        lambda w: current_app.config["HUB_WORKER_POLL_SECONDS"],
        metadata={"type": "number", "description": "Longest a claim waits"},
    )
    space = fields.Function(
        lambda w: ServedSpaceSchema().dump(space) if (space := workers.space_of(w)) else None,
        metadata={
            "type": "object",
            "nullable": True,
            "description": "The space whose tasks it claims (its token's); null: every space (a hub-wide token)",
        },
    )


class ServedSpaceSchema(ma.Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "personal or org"})
    name = fields.String()
    slug = fields.String(allow_none=True, metadata={"description": "An organisation's"})


class ClaimSchema(ma.Schema):
    wait = fields.Float(
        load_default=0,
        validate=validate.Range(min=0, max=3600),
        metadata={"description": "Seconds to wait for a task (capped at poll_seconds)"},
    )


class MessageItemSchema(ma.Schema):
    role = fields.String()
    content = fields.String()


class ClaimedTaskSchema(TaskSchema):
    codebase_path = fields.Function(
        lambda t: t.codebase.path,
        allow_none=True,
        metadata={"type": "string", "description": "Directory of the codebase on the worker's machine, if set"},
    )
    lease_expires_at = UTCDateTime(allow_none=True)
    messages = fields.Function(
        lambda t: MessageItemSchema(many=True).dump(conversations.history_for(t)) if t.conversation_pk else [],
        metadata={
            "type": "array",
            "items": {"type": "object"},
            "description": "The conversation so far, when the task answers one",
        },
    )


class ClaimAnswerSchema(ma.Schema):
    task = fields.Nested(ClaimedTaskSchema, allow_none=True, metadata={"description": "null: no task within the wait"})


class ReportSchema(ma.Schema):
    output = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_OUTPUT),
        metadata={"description": "Output since the last report, appended to the task's output"},
    )


class HeartbeatAnswerSchema(ma.Schema):
    task_id = fields.Function(lambda t: t.id, metadata={"type": "string"})
    status = fields.String(metadata={"description": "Stop the agent unless this is `running`"})
    cancel = fields.Function(
        lambda t: t.status != "running",
        metadata={"type": "boolean", "description": "True: stop the agent (cancelled, or the lease lapsed)"},
    )
    lease_expires_at = UTCDateTime(allow_none=True)


class CompleteSchema(ma.Schema):
    result = fields.String(required=True, validate=validate.Length(max=MAX_OUTPUT))


class FailSchema(ma.Schema):
    error = RequiredText(max_length=MAX_OUTPUT)


class AskSchema(ma.Schema):
    question = RequiredText(
        max_length=MAX_OUTPUT,
        metadata={"description": "What the agent asks the user: the assistant's message in the task's conversation"},
    )


def heartbeat_seconds() -> float:
    return round(max(0.1, min(workers.lease_seconds() / 3, 5.0)), 3)


@blp.route("/register")
class Register(MethodView):
    @blp.auth(WORKER_SCOPE)
    @blp.arguments(RegisterSchema())
    @blp.response(200, WorkerSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Register (or re-register) a worker: its name, codebases and agent types."""
        return workers.register(g.principal, **args)


@blp.route("/<worker_id>/claim")
class Claim(MethodView):
    @blp.auth(WORKER_SCOPE)
    @blp.arguments(ClaimSchema())
    @blp.response(200, ClaimAnswerSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def post(self, args, worker_id):
        """Claim the next task (priority, then age), waiting up to `wait` seconds for one."""
        return {"task": claim_waiting(worker_id, min(args["wait"], current_app.config["HUB_WORKER_POLL_SECONDS"]))}


def claim_waiting(worker_id: str, wait: float):
    """Long-poll: look, then sleep until a task is created, a lease is due,
    or the wait is over. Holds one web thread (gthread), never a process
    for long: the wait is capped by HUB_WORKER_POLL_SECONDS."""
    deadline = time.monotonic() + wait
    with wakeups.Waiter() as waiter:
        while True:
            # Before every look, the first too: a worker killed while its
            # request waited for a web thread has hung up before we look.
            if caller_gone():
                return None
            task = workers.claim(g.principal, worker_id)
            left = deadline - time.monotonic()
            if task is not None or left <= 0:
                return task
            due = workers.next_lease_expiry()
            db.session.commit()  # end the read: the next look sees new rows
            if due is not None:
                left = min(left, max(0.05, (due - utcnow()).total_seconds() + 0.05))
            if not waiter.wait(left):
                return None


def caller_gone() -> bool:
    """Has the worker hung up while its claim waited (killed, say)? A task
    claimed for it would sit in a dead lease until HUB_WORKER_LEASE_SECONDS
    pass, while its restarted self waits beside it."""
    sock = request.environ.get("gunicorn.socket")
    if sock is None:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError, ValueError):  # nothing to read (ValueError: TLS socket)
        return False
    except OSError:  # reset by the peer
        return True


@blp.route("/tasks/<task_id>/heartbeat")
class Heartbeat(MethodView):
    @blp.auth(WORKER_SCOPE)
    @blp.arguments(ReportSchema())
    @blp.response(200, HeartbeatAnswerSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def post(self, args, task_id):
        """Renew the lease, optionally appending output; `cancel` says stop."""
        return workers.heartbeat(g.principal, task_id, args["output"])


def task_ending(outcome: str, schema: type[ma.Schema], end: Callable[[Any, str, str], Any], doc: str) -> None:
    """POST /tasks/<task_id>/<outcome>: a running task ends (or waits) with the
    worker's one field (``schema``'s only one) handed to ``end``; answers the task.
    A route each, so that /openapi.json shows each its own body."""
    (field,) = schema().fields

    class Ending(MethodView):
        @blp.auth(WORKER_SCOPE)
        @blp.arguments(schema())
        @blp.response(200, TaskSchema)
        @blp.alt_response(404, schema=ErrorSchema)
        @blp.alt_response(
            409, schema=ErrorSchema, description="The task is no longer running (cancelled, or lease lapsed)"
        )
        def post(self, args, task_id):
            return end(g.principal, task_id, args[field])

        post.__doc__ = doc  # the operation's summary in /openapi.json

    Ending.__name__ = outcome.capitalize()  # the endpoint: worker.Complete, worker.Ask, worker.Fail
    blp.route(f"/tasks/<task_id>/{outcome}")(Ending)


task_ending("complete", CompleteSchema, workers.complete, "Finish the task with its result.")
task_ending(
    "ask",
    AskSchema,
    workers.ask,
    """Stop and ask the user a question: the task becomes `input_required`
    and leaves this worker; the user's reply makes it claimable again.""",
)
task_ending("fail", FailSchema, workers.fail, "Fail the task with an error.")
