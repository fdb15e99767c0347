import marshmallow as ma
from flask import g
from flask.views import MethodView
from marshmallow import fields, validate

from hub.api.base import Blueprint, ErrorSchema
from hub.api.hooks import DeliverySchema
from hub.auth import current_user
from hub.models.tasks import EXTERNAL_ID_MAX, STATUSES
from hub.schemas import (
    MessageSchema,
    PageArgs,
    RequiredText,
    TaskCreatedSchema,
    TaskCreateSchema,
    TaskSchema,
    UTCDateTime,
)
from hub.services import callbacks, questions, tasks, workers

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="AI agent tasks")


def _at_or_after(column: str) -> UTCDateTime:
    return UTCDateTime(metadata={"description": f"Only tasks whose `{column}` is at or after this time (ISO 8601)"})


def _before(column: str) -> UTCDateTime:
    return UTCDateTime(metadata={"description": f"Only tasks whose `{column}` is before this time (ISO 8601)"})


class TaskFilters(ma.Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    codebase_id = fields.String(validate=validate.Length(min=1, max=64))
    external_id = fields.String(
        validate=validate.Length(min=1, max=EXTERNAL_ID_MAX),
        metadata={"description": "Only tasks created with this `external_id` (exact match)"},
    )
    # Each reads its own timestamp: `failed_after` finds tasks that failed then.
    created_after = _at_or_after("created_at")
    created_before = _before("created_at")
    completed_after = _at_or_after("completed_at")
    completed_before = _before("completed_at")
    failed_after = _at_or_after("failed_at")
    failed_before = _before("failed_at")
    cancelled_after = _at_or_after("cancelled_at")
    cancelled_before = _before("cancelled_at")


# PageArgs first: marshmallow puts inherited fields in reverse MRO order, so
# the query reads filters, page, limit, include_total (the Link header's order).
class TaskQuerySchema(PageArgs, TaskFilters):
    include_total = fields.Boolean(
        load_default=False,
        metadata={"description": "Also count every matching task into `X-Total-Count` (costs a scan of them all)"},
    )


TOTAL_HEADER = {
    "X-Total-Count": {
        "description": "With `include_total=true`: tasks matching the filters",
        "schema": {"type": "integer"},
    },
}


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.auth("tasks:read")
    @blp.paged(TaskQuerySchema(), TaskSchema(many=True), headers=TOTAL_HEADER)
    @blp.alt_response(422, schema=ErrorSchema)
    def get(self, args):
        """List tasks, newest first, as a bare array; `Link` names the next page."""
        include_total = args.pop("include_total")
        found = tasks.list_tasks(current_user(), **args)
        if not include_total:
            return found
        args.pop("page"), args.pop("limit")
        return found, {"X-Total-Count": str(tasks.count_tasks(current_user(), **args))}

    @blp.auth("tasks:write")
    @blp.idempotent
    @blp.arguments(TaskCreateSchema())
    @blp.response(201, TaskCreatedSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="A `callback_url` needs `tasks:read` too")
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Create a task for an AI agent. With a `callback_url`, the answer
        holds the `callback_secret` that signs the callback; it is not shown again."""
        return tasks.create_task(current_user(), scopes=g.principal.scopes, **args)


@blp.route("/tasks/<task_id>")
class TaskById(MethodView):
    @blp.auth("tasks:read")
    @blp.response(200, TaskSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, task_id):
        """One task by id."""
        return tasks.get_task(current_user(), task_id)


@blp.route("/tasks/<task_id>/cancel")
class TaskCancel(MethodView):
    @blp.auth("tasks:write")
    @blp.response(200, TaskSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="The task already finished")
    def post(self, task_id):
        """Cancel a pending, running or input_required task."""
        return tasks.cancel_task(current_user(), task_id)


class ReplySchema(ma.Schema):
    message = RequiredText(
        max_length=questions.REPLY_MAX, metadata={"description": "The answer to the agent's question"}
    )


@blp.route("/tasks/<task_id>/messages")
class TaskReply(MethodView):
    @blp.auth("tasks:write")
    @blp.idempotent
    @blp.arguments(ReplySchema())
    @blp.response(201, MessageSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="The task is not waiting for input (`input_required`)")
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, task_id):
        """Answer the question of a task whose agent asked one (`input_required`):
        the reply joins the task's conversation and the same task resumes
        (pending again). A message to that conversation (`POST /messages`) does the same."""
        return questions.reply(current_user(), task_id, args["message"])


MAX_SEQ = 2**31 - 1  # output chunks are numbered by a database integer (32 bits in PostgreSQL)


class OutputQuerySchema(PageArgs):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_SEQ),
        metadata={"description": "Only chunks after this `seq` (follow along)"},
    )


class OutputChunkSchema(ma.Schema):
    seq = fields.Function(lambda chunk: chunk.pk, metadata={"type": "integer"})
    text = fields.String()
    created_at = UTCDateTime()


@blp.route("/tasks/<task_id>/output")
class TaskOutput(MethodView):
    @blp.auth("tasks:read")
    @blp.paged(OutputQuerySchema(), OutputChunkSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def get(self, args, task_id):
        """The output the task's agent streamed back so far, oldest first."""

        return workers.output_of(tasks.get_task(current_user(), task_id), **args)


class CallbackSchema(ma.Schema):
    id = fields.String()
    url = fields.String(metadata={"description": "Where it goes, cut to its scheme and host (the URL is a secret)"})
    event = fields.String(
        metadata={
            "description": "What it waits for: `task.completed`, or `message.created` (the agent's reply to a "
            "message); the task's failure or cancellation fires it too"
        }
    )
    format = fields.String()
    created_at = UTCDateTime()
    delivery = fields.Nested(DeliverySchema, allow_none=True, metadata={"description": "`null` until the task ends"})


@blp.route("/tasks/<task_id>/callback")
class TaskCallback(MethodView):
    @blp.auth("tasks:read")
    @blp.response(200, CallbackSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, task_id):
        """The task's callback (from `callback_url` on its create) and its delivery, with every attempt."""
        user = current_user()
        return callbacks.of_task(user, tasks.get_task(user, task_id))
