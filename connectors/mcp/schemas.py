"""The MCP tools' own inputs (the creates take the API's: ``hub.TaskInput``,
``hub.MessageInput``). Descriptions are written for the person, or the
model, choosing a tool's arguments."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from connectors.base.hub import EXTERNAL_ID_MAX, STATUSES, OptionalStr, RequiredText, UTCDateTime
from connectors.base.inputs import BlankIsMissing

TASK_ID = "The task's ID (`task_…`), as create_task or find_tasks answered it."


class TaskId(ma.Schema):
    task_id = RequiredText(max_length=64, metadata={"description": TASK_ID})


def _time(description: str) -> UTCDateTime:
    return UTCDateTime(allow_none=True, load_default=None, metadata={"description": description})


class TaskFilters(BlankIsMissing):
    """find_task's and find_tasks' filters: every one given must match."""

    status = OptionalStr(
        validate=validate.OneOf(STATUSES), metadata={"description": f"Only tasks in this state: {', '.join(STATUSES)}."}
    )
    codebase_id = OptionalStr(
        validate=validate.Length(max=64), metadata={"description": "Only tasks in this codebase."}
    )
    external_id = OptionalStr(
        validate=validate.Length(max=EXTERNAL_ID_MAX),
        metadata={"description": "Only tasks created with this external_id (exact match), e.g. `owner/repo#123`."},
    )
    search = OptionalStr(
        validate=validate.Length(max=200), metadata={"description": "Words in the task's title or prompt (any case)."}
    )
    created_after = _time("Only tasks created at or after this time (ISO 8601, e.g. `2026-01-15T00:00:00Z`).")
    created_before = _time("Only tasks created before this time (ISO 8601).")
    completed_after = _time("Only tasks completed at or after this time (ISO 8601).")
    completed_before = _time("Only tasks completed before this time (ISO 8601).")


class TaskSearch(TaskFilters):
    limit = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=100),
        metadata={"description": "How many tasks at most, newest first (1 to 100; 20 if not given)."},
    )


class CodebaseList(BlankIsMissing):
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=100),
        metadata={"description": "How many codebases at most (1 to 100; 50 if not given)."},
    )
