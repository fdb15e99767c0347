"""How the hub shows its objects: one representation each, used by the API,
the event payloads and the connectors alike; and the inputs they share (a
new task's fields, a page of a list)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate
from sqlalchemy import Select, bindparam

from hub.db import db
from hub.models.tasks import AGENT_TYPES, EXTERNAL_ID_MAX


class UTCDateTime(fields.DateTime):
    """ISO-8601 in UTC with a ``Z``. Naive input is taken as UTC; aware input
    is converted. The database stores naive UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):  # already ISO (an event's stored data): normalise it
            value = self._deserialize(value, attr, obj)
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:
                raise ma.ValidationError("Date is out of range.") from None
        return parsed


class OptionalStr(fields.String):
    """An optional string where an empty value means "not given" (no-code
    tools send "" for fields a user left blank)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("load_default", None)
        super().__init__(**kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if isinstance(value, str) and not value.strip():
            return None  # before validators, which would see a blank
        return super().deserialize(value, attr, data, **kwargs)


class WholeNumber(fields.Integer):
    """An integer, given as a number or a numeric string; 1.5 is refused,
    not truncated."""

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise self.make_error("invalid", input=value) from None
        return super()._validated(value)


class RequiredText(fields.String):
    """A required string that must not be blank."""

    def __init__(self, max_length: int | None = None, **kwargs):
        kwargs.setdefault("required", True)
        validators = [
            ma.validate.Length(min=1, max=max_length, error="Must not be empty" if max_length is None else None)
        ]
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            raise ma.ValidationError("Must not be blank.")
        return text


METADATA_MAX_KEYS = 20
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


class CallerMetadata(fields.Dict):
    """The caller's metadata on a task: a flat object of string keys (1 to
    METADATA_KEY_MAX characters) to string values (at most METADATA_VALUE_MAX),
    at most METADATA_MAX_KEYS of them; bounded so a task stays small. A bad
    entry is named ``metadata.<key>``. Empty is none: loads as None (stored
    as NULL), shows as ``{}``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("load_default", None)
        kwargs["metadata"] = {"maxProperties": METADATA_MAX_KEYS, **kwargs.get("metadata", {})}
        values = fields.String(validate=validate.Length(max=METADATA_VALUE_MAX))
        super().__init__(keys=fields.String(validate=validate.Length(max=METADATA_KEY_MAX)), values=values, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return dict(value) if value else {}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, Mapping):
            raise self.make_error("invalid")
        if len(value) > METADATA_MAX_KEYS:
            raise ma.ValidationError(f"At most {METADATA_MAX_KEYS} keys.")
        problems: dict[str, list[str]] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key.strip() or len(key) > METADATA_KEY_MAX:
                shown = str(key)[:METADATA_KEY_MAX] + ("…" if len(str(key)) > METADATA_KEY_MAX else "")
                problems[shown] = [f"Keys are 1 to {METADATA_KEY_MAX} characters, not blank."]
            elif not isinstance(item, str):
                problems[key] = ["Not a valid string: values are text."]
            elif len(item) > METADATA_VALUE_MAX:
                problems[key] = [f"Longer than maximum length {METADATA_VALUE_MAX}."]
        if problems:
            raise ma.ValidationError(problems)  # hub.errors names each as metadata.<key>
        return dict(value) or None


class PlainDump(ma.Schema):
    """A schema that dumps objects through each field's own formatting, found
    once per schema instance, skipping marshmallow's per-field lookup and
    default handling: for a page of tasks those cost more than the query.
    The output is marshmallow's own (tests/api/test_schemas.py compares
    them); mappings (connector samples) still go through marshmallow."""

    def dump(self, obj, *, many: bool | None = None):
        many = self.many if many is None else many
        if many and not isinstance(obj, list):
            obj = list(obj)
        if obj is None or isinstance(obj[0] if many and obj else obj, Mapping):
            return super().dump(obj, many=many)
        formats = self.__dict__.get("_formats") or self._find_formats()
        if many:
            return [
                {key: fmt(getattr(item, attr, None) if attr else None, name, item) for key, name, attr, fmt in formats}
                for item in obj
            ]
        return {key: fmt(getattr(obj, attr, None) if attr else None, name, obj) for key, name, attr, fmt in formats}

    def _find_formats(self) -> list:
        """(output key, field name, attribute to read or None, the field's
        formatting); Function fields read nothing, as in marshmallow."""
        self._formats = [
            (
                field.data_key or name,
                name,
                (field.attribute or name) if field._CHECK_ATTRIBUTE else None,
                field._serialize,
            )
            for name, field in self.fields.items()
            if not field.load_only
        ]
        return self._formats


def task_url(task_id: str) -> str:
    return f"{current_app.config['HUB_BASE_URL']}/tasks/{task_id}"


class TaskSchema(PlainDump):
    id = fields.String(metadata={"description": "Same as task_id; the unique id automation tools dedupe on"})
    task_id = fields.Function(
        lambda task: task.id, metadata={"description": "Unique task identifier", "type": "string"}
    )
    title = fields.String()
    prompt = fields.String()
    status = fields.String(
        metadata={
            "description": "pending, running, input_required (the agent asked a question), completed, failed or "
            "cancelled"
        }
    )
    codebase_id = fields.String()
    conversation_id = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True, metadata={"description": "The caller's reference, as given"})
    metadata = CallerMetadata(attribute="metadata_", metadata={"description": "The caller's metadata, as given"})
    agent_type = fields.String(metadata={"description": "build, plan, general or explore"})
    model = fields.String(allow_none=True)
    priority = fields.Integer(metadata={"description": "Higher runs sooner"})
    result = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    retry_count = fields.Integer()
    max_retries = fields.Integer()
    duration_seconds = fields.Float(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    started_at = UTCDateTime(allow_none=True)
    completed_at = UTCDateTime(allow_none=True)
    failed_at = UTCDateTime(allow_none=True)
    cancelled_at = UTCDateTime(allow_none=True)
    url = fields.Function(lambda task: task_url(task.id), metadata={"description": "The task's page", "type": "string"})
    callback_url = fields.String(
        attribute="callback_shown_url",
        allow_none=True,
        metadata={"description": "Where the task's callback goes, shown cut to its scheme and host (it is a secret)"},
    )


class TaskCreatedSchema(TaskSchema):
    """A create's answer: the task, and its callback's secret if it has a callback."""

    callback_secret = fields.String(
        metadata={"description": "With a `callback_url`: the `whsec_…` secret signing it; shown only now"}
    )

    def dump(self, obj, *, many: bool | None = None):
        answer = super().dump(obj, many=many)
        if isinstance(answer, dict) and answer.get("callback_secret") is None:
            del answer["callback_secret"]  # no callback: the same object a GET answers
        return answer


# A create's per-task callback (docs/webhooks.md, "Per-task callbacks").
def _callback_url(what: str) -> OptionalStr:
    return OptionalStr(
        validate=validate.Length(max=2048),
        metadata={
            "description": f"POST {what} here once, signed, when it is ready; the task instead if it fails or is "
            "cancelled. A public http(s) URL, kept secret: shown only cut to its host after this"
        },
    )


def _callback_format() -> OptionalStr:
    return OptionalStr(
        validate=validate.Length(max=40),
        metadata={"description": "The callback's payload format: `standard` (default) or one a connector registered"},
    )


class TaskCreateSchema(ma.Schema):
    """A new task's fields: what ``POST /api/v1/tasks`` takes, and what a
    connector's Create Task takes too (adding only labels and help text, as
    connectors/zapier/schemas.py does). Descriptions are the API's docs."""

    title = RequiredText(max_length=500, metadata={"description": "Task title"})
    prompt = RequiredText(max_length=100_000, metadata={"description": "Instructions for the AI agent"})
    codebase_id = OptionalStr(
        validate=validate.Length(max=64),
        metadata={"description": "Target codebase; the user's `global` one when empty"},
    )
    agent_type = fields.String(
        load_default="build",
        validate=validate.OneOf(AGENT_TYPES),
        metadata={"description": "build (default), plan, general or explore"},
    )
    model = OptionalStr(validate=validate.Length(max=200), metadata={"description": "LLM model to use"})
    priority = WholeNumber(
        load_default=0,
        validate=validate.Range(min=-1_000_000, max=1_000_000),
        metadata={"description": "Higher = more urgent (default 0)"},
    )
    external_id = OptionalStr(
        validate=validate.Length(max=EXTERNAL_ID_MAX),
        metadata={
            "description": "Your reference (a Slack ts, an email Message-ID, owner/repo#123), up to 255 characters; "
            "not unique. Shown on the task; `GET /api/v1/tasks?external_id=` finds it"
        },
    )
    metadata = CallerMetadata(
        metadata={
            "description": f"Your own labels: string keys (1-{METADATA_KEY_MAX} characters) to string values "
            f"(up to {METADATA_VALUE_MAX}), at most {METADATA_MAX_KEYS}; shown on the task as given"
        }
    )
    callback_url = _callback_url("the finished task")
    callback_format = _callback_format()


class MessageCreateSchema(ma.Schema):
    """A message's fields: what ``POST /api/v1/messages`` and a connector's
    Send Message take."""

    message = RequiredText(max_length=100_000, metadata={"description": "Message content"})
    conversation_id = OptionalStr(
        validate=validate.Length(max=255),
        metadata={"description": "Conversation to continue; a new id (e.g. a Slack thread_ts) starts one"},
    )
    codebase_id = OptionalStr(validate=validate.Length(max=64), metadata={"description": "Target codebase"})
    external_id = OptionalStr(
        validate=validate.Length(max=EXTERNAL_ID_MAX),
        metadata={
            "description": "Your reference (up to 255 characters), carried by the task this message makes; "
            "a message that starts a conversation also gives it to the conversation"
        },
    )
    metadata = CallerMetadata(
        metadata={
            "description": f"Your own labels for the task this message makes: string keys (1-{METADATA_KEY_MAX} "
            f"characters) to string values (up to {METADATA_VALUE_MAX}), at most {METADATA_MAX_KEYS}"
        }
    )
    callback_url = _callback_url("the agent's reply")
    callback_format = _callback_format()


class PageArgs(ma.Schema):
    """A page of a list: ``page`` (0-based) of ``limit`` items. Every paged
    list takes these, as the README documents: its service answers a ``Page``
    (``fetch_page``) and its route is ``hub.api.base.Blueprint.paged``, which
    names the next page in a ``Link`` header."""

    page = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=1_000_000), metadata={"description": "0-based page number"}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


T = TypeVar("T")


class Page(NamedTuple, Generic[T]):
    """One page of a list, and whether another follows."""

    items: list[T]
    more: bool


def paged(statement: Select[T]) -> Select[T]:
    """``statement`` cut to one page by bound values, which ``fetch_page``
    gives: a statement built once then serves every page."""
    return statement.limit(bindparam("limit")).offset(bindparam("offset"))


def fetch_page(statement: Select[T], *, page: int, limit: int, params: Mapping[str, Any] | None = None) -> Page[T]:
    """Page ``page`` of a ``paged`` statement's rows (``params``: its other
    bound values). Reads ``limit`` + 1 rows: the extra one only tells that
    another page follows, so no count and no second query."""
    rows = list(db.session.scalars(statement, {**(params or {}), "limit": limit + 1, "offset": page * limit}))
    return Page(rows[:limit], len(rows) > limit)


class CodebaseSchema(ma.Schema):
    id = fields.String()
    codebase_id = fields.Function(lambda cb: cb.id, metadata={"type": "string"})
    name = fields.String()
    path = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    created_at = UTCDateTime()


class MessageSchema(ma.Schema):
    id = fields.String()
    message_id = fields.Function(lambda m: m.id, metadata={"type": "string"})
    conversation_id = fields.Function(lambda m: m.conversation.id, metadata={"type": "string"})
    codebase_id = fields.Function(lambda m: m.conversation.codebase.id, metadata={"type": "string"})
    conversation_external_id = fields.Function(
        lambda m: m.conversation.external_id,
        allow_none=True,
        metadata={"type": "string", "description": "The external_id of the message that started the conversation"},
    )
    role = fields.String(metadata={"description": "user or assistant"})
    content = fields.String()
    task_id = fields.String(allow_none=True)
    created_at = UTCDateTime()


class MessageCreatedSchema(MessageSchema):
    """A send's answer: the message, and its callback's secret if it has a
    callback (left out otherwise: the attribute is set only then)."""

    callback_secret = fields.String(
        metadata={"description": "With a `callback_url`: the `whsec_…` secret signing it; shown only now"}
    )


class UserSchema(ma.Schema):
    id = fields.Function(lambda user: user.username, metadata={"type": "string"})
    username = fields.String()
    email = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    tier = fields.String()
    is_admin = fields.Boolean()


# Built once: a Schema instance deep-copies its fields when created.
_TASK = TaskSchema()
_MESSAGE = MessageSchema()


def dump_task(task) -> dict:
    return _TASK.dump(task)


def dump_message(message) -> dict:
    return _MESSAGE.dump(message)
