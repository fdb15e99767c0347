"""The Zapier app's fields: input schemas for actions and searches, output
schemas for triggers. Keys are the seed's and never change (Zaps map them).

``label`` and ``description`` are written for people who do not read code;
``choices_from`` names the hidden trigger that fills a dropdown, and
``choice_labels`` labels a static dropdown. Create Task and Send Message take
the API's own fields (``connectors.base.hub.TaskInput``/``MessageInput``), adding
only how Zapier shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from typing import NamedTuple

import marshmallow as ma
from marshmallow import fields, validate

from connectors.base.hub import (
    AGENT_TYPES,
    EXTERNAL_ID_MAX,
    STATUSES,
    MessageInput,
    OptionalStr,
    RequiredText,
    TaskInput,
    UTCDateTime,
)
from connectors.base.inputs import BlankIsMissing
from connectors.base.labels import AGENT_TYPE_LABELS, STATUS_LABELS


def _codebase(description: str) -> OptionalStr:
    return OptionalStr(
        validate=validate.Length(max=64),
        metadata={"label": "Codebase", "description": description, "choices_from": "codebase_choices"},
    )


class Label(NamedTuple):
    """How the Zapier app shows a field the hub's API also takes: only
    presentation, never what the field accepts."""

    label: str
    help_text: str
    long: bool = False  # a multi-line box
    choices_from: str | None = None  # the hidden trigger that fills its dropdown
    choice_labels: Mapping[str, str] | None = None  # a static dropdown's labels, by value


def labelled(name: str, shared: type[ma.Schema], labels: Mapping[str, Label]) -> type[ma.Schema]:
    """The input schema ``name``: ``shared``'s fields as they are (what they
    accept, required, defaults, choices), shown with ``labels``, and blanks
    taken as missing. tests/connectors/zapier checks every field is labelled."""
    found = {}
    for key, field in shared().fields.items():
        found[key] = copy = deepcopy(field)
        label = labels.get(key)
        if label is not None:
            shown = {"long": label.long, "choices_from": label.choices_from, "choice_labels": label.choice_labels}
            copy.metadata = {
                **field.metadata,
                "label": label.label,
                "description": label.help_text,
                **{k: v for k, v in shown.items() if v},
            }
    return BlankIsMissing.from_dict(found, name=name)


CREATE_TASK_LABELS = {
    "title": Label("Title", "A short name for the task, e.g. the email subject or issue title."),
    "prompt": Label(
        "Prompt",
        "What the AI agent should do, in plain words. Map an email body, a Slack message or an issue description here.",
        long=True,
    ),
    "codebase_id": Label(
        "Codebase",
        "Which codebase the agent works on. Leave empty to use your `global` codebase.",
        choices_from="codebase_choices",
    ),
    "agent_type": Label(
        "Agent Type",
        "The kind of agent: Build changes code (the default), Plan reviews and plans without changing anything, "
        "General answers questions, Explore maps the code.",
        choice_labels=AGENT_TYPE_LABELS,
    ),
    "model": Label("Model", "Which AI model to use, e.g. `gpt-4o`. Leave empty for the hub's default."),
    "priority": Label("Priority", "A whole number; higher runs sooner. Leave empty for 0."),
    "external_id": Label(
        "External ID",
        "Your own reference for this task, e.g. a Slack message `ts`, an email Message-ID or `owner/repo#123`. "
        "It comes back on the task, so later steps can find it. Up to 255 characters.",
    ),
    "metadata": Label(
        "Metadata",
        "Your own labels, kept on the task and given back as they are: up to 20 names (each up to 40 characters) "
        "with text values (each up to 500 characters), e.g. `channel` = a Slack channel ID.",
    ),
    "callback_url": Label(
        "Callback URL",
        "Optional: a web address the hub calls once when the task is done (or fails, or is cancelled), with the "
        "finished task. Leave empty unless another app gave you one (e.g. a Webhooks by Zapier Catch Hook URL).",
    ),
    "callback_format": Label(
        "Callback Format",
        "Optional: how the callback's data is shaped. Leave empty for the standard shape.",
    ),
}
CreateTaskInput = labelled("CreateTaskInput", TaskInput, CREATE_TASK_LABELS)


SEND_MESSAGE_LABELS = {
    "message": Label("Message", "What to say to the agent.", long=True),
    "conversation_id": Label(
        "Conversation ID",
        "Continue this conversation. Any id works: map a Slack thread's `thread_ts` to keep one conversation per "
        "thread. Leave empty to start a new one.",
    ),
    "codebase_id": Label(
        "Codebase",
        "The codebase of a new conversation. Leave empty for `global`.",
        choices_from="codebase_choices",
    ),
    "external_id": Label(
        "External ID",
        "Your own reference, e.g. the Slack message `ts` or email Message-ID. The agent's task for this message "
        "carries it; a message that starts a conversation also gives it to the conversation.",
    ),
    "metadata": Label(
        "Metadata",
        "Your own labels for the agent's task, given back as they are: up to 20 names (each up to 40 characters) "
        "with text values (each up to 500 characters).",
    ),
    "callback_url": Label(
        "Callback URL",
        "Optional: a web address the hub calls once with the agent's reply (or with the task, if it fails or is "
        "cancelled). Leave empty unless another app gave you one (e.g. a Webhooks by Zapier Catch Hook URL).",
    ),
    "callback_format": Label(
        "Callback Format",
        "Optional: how the callback's data is shaped. Leave empty for the standard shape.",
    ),
}
SendMessageInput = labelled("SendMessageInput", MessageInput, SEND_MESSAGE_LABELS)


class CancelTaskInput(BlankIsMissing):
    task_id = RequiredText(
        max_length=64,
        metadata={
            "label": "Task",
            "choices_from": "cancellable_task_choices",
            "search_from": "find_task",  # or a Find Task step gives it
            "description": "The task to stop. Pick a waiting or running task, or map a Task ID from an earlier step.",
        },
    )


def _since(state: str, label: str) -> UTCDateTime:
    return UTCDateTime(
        allow_none=True,
        load_default=None,
        metadata={"label": f"{label} After", "description": f"Only tasks {state} at or after this time."},
    )


def _until(state: str, label: str) -> UTCDateTime:
    return UTCDateTime(
        allow_none=True,
        load_default=None,
        metadata={"label": f"{label} Before", "description": f"Only tasks {state} before this time."},
    )


class FindTaskInput(BlankIsMissing):
    """Find Task's filters (the seed's first), also Find Tasks (list)'s."""

    task_id = OptionalStr(
        validate=validate.Length(max=64), metadata={"label": "Task ID", "description": "Find exactly this task."}
    )
    status = OptionalStr(
        validate=validate.OneOf(STATUSES),
        metadata={"label": "Status", "choice_labels": STATUS_LABELS, "description": "Only tasks with this status."},
    )
    codebase_id = _codebase("Only tasks in this codebase.")
    completed_after = UTCDateTime(
        allow_none=True,
        load_default=None,
        metadata={
            "label": "Completed After",
            "description": "Only tasks completed at or after this time, e.g. `yesterday 00:00` for a daily summary.",
        },
    )
    completed_before = UTCDateTime(
        allow_none=True,
        load_default=None,
        metadata={
            "label": "Completed Before",
            "description": "Only tasks completed before this time, e.g. `today 00:00`.",
        },
    )
    external_id = OptionalStr(
        validate=validate.Length(max=EXTERNAL_ID_MAX),
        metadata={
            "label": "External ID",
            "description": "Only tasks created with this External ID (exact match), e.g. `owner/repo#123` or an "
            "email's Message-ID.",
        },
    )
    # Each final state has its own time: a failed task is found by Failed After, never by Completed After.
    created_after = _since("created", "Created")
    created_before = _until("created", "Created")
    failed_after = _since("failed", "Failed")
    failed_before = _until("failed", "Failed")
    cancelled_after = _since("cancelled", "Cancelled")
    cancelled_before = _until("cancelled", "Cancelled")


class TaskTriggerInput(BlankIsMissing):
    """A task trigger's filters: the hub sends only matching tasks (hook
    filters of the same names), and Zapier's test lists only them."""

    codebase_id = _codebase("Only tasks in this codebase. Leave empty for every codebase.")
    agent_type = OptionalStr(
        validate=validate.OneOf(AGENT_TYPES),
        metadata={
            "label": "Agent Type",
            "choice_labels": AGENT_TYPE_LABELS,
            "description": "Only tasks of this agent type. Leave empty for every type.",
        },
    )


def _out(field: fields.Field, label: str) -> fields.Field:
    field.metadata = {**field.metadata, "label": label}
    return field


# Fields of a task trigger's item beyond the seed's (which come first, keys,
# labels and types unchanged: Zaps map them). One function per field: a
# schema needs a field object of its own.
def _prompt() -> fields.Field:
    return _out(fields.String(metadata={"description": "What the agent was asked to do"}), "Prompt")


def _title() -> fields.Field:
    return _out(fields.String(), "Title")


def _url() -> fields.Field:
    return _out(fields.String(metadata={"description": "The task's page on the hub"}), "URL")


def _conversation_id() -> fields.Field:
    return _out(
        fields.String(allow_none=True, metadata={"description": "The conversation a Send Message task answers"}),
        "Conversation ID",
    )


def _external_id() -> fields.Field:
    return _out(fields.String(allow_none=True, metadata={"description": "Your reference, as given"}), "External ID")


def _metadata() -> fields.Field:
    # An object: Zapier offers each entry as its own field (`metadata__channel`).
    return _out(fields.Dict(allow_none=True, metadata={"description": "Your labels, as given"}), "Metadata")


def _codebase_id() -> fields.Field:
    return _out(fields.String(), "Codebase ID")


def _agent_type() -> fields.Field:
    return _out(fields.String(metadata={"description": "build, plan, general or explore"}), "Agent Type")


class NewTaskOutput(ma.Schema):
    id = _out(fields.String(), "Event ID")
    task_id = _out(fields.String(metadata={"description": "Unique task identifier"}), "Task ID")
    title = _title()
    status = _out(fields.String(metadata={"description": "pending, running, completed, failed or cancelled"}), "Status")
    codebase_id = _codebase_id()
    created_at = _out(UTCDateTime(), "Created At")
    agent_type = _agent_type()
    prompt = _prompt()
    url = _url()
    conversation_id = _conversation_id()
    external_id = _external_id()
    metadata = _metadata()


class TaskStartedOutput(ma.Schema):
    id = _out(fields.String(), "Event ID")
    task_id = _out(fields.String(), "Task ID")
    title = _title()
    started_at = _out(UTCDateTime(), "Started At")
    url = _url()
    conversation_id = _conversation_id()
    external_id = _external_id()
    metadata = _metadata()
    codebase_id = _codebase_id()
    agent_type = _agent_type()


class TaskCompletedOutput(ma.Schema):
    id = _out(fields.String(), "Event ID")
    task_id = _out(fields.String(), "Task ID")
    title = _title()
    result = _out(fields.String(allow_none=True, metadata={"description": "What the agent produced"}), "Result")
    duration_seconds = _out(
        fields.Float(allow_none=True, metadata={"description": "Execution time"}), "Duration (Seconds)"
    )
    completed_at = _out(UTCDateTime(), "Completed At")
    url = _url()
    conversation_id = _conversation_id()
    external_id = _external_id()
    metadata = _metadata()
    codebase_id = _codebase_id()
    agent_type = _agent_type()


class TaskFailedOutput(ma.Schema):
    id = _out(fields.String(), "Event ID")
    task_id = _out(fields.String(), "Task ID")
    error = _out(fields.String(allow_none=True, metadata={"description": "Why the task failed"}), "Error")
    retry_count = _out(fields.Integer(metadata={"description": "Number of retry attempts"}), "Retry Count")
    failed_at = _out(UTCDateTime(), "Failed At")
    title = _title()
    prompt = _prompt()
    url = _url()
    conversation_id = _conversation_id()
    external_id = _external_id()
    metadata = _metadata()
    codebase_id = _codebase_id()
    agent_type = _agent_type()


class TaskCancelledOutput(ma.Schema):
    id = _out(fields.String(), "Event ID")
    task_id = _out(fields.String(), "Task ID")
    title = _title()
    cancelled_at = _out(UTCDateTime(), "Cancelled At")
    url = _url()
    conversation_id = _conversation_id()
    external_id = _external_id()
    metadata = _metadata()
    codebase_id = _codebase_id()
    agent_type = _agent_type()


class TaskNeedsInputOutput(ma.Schema):
    """A task whose agent stopped to ask a question: reply with Send Message
    to its conversation (or on the task's page) and the same task carries on."""

    id = _out(fields.String(), "Event ID")
    task_id = _out(fields.String(), "Task ID")
    title = _title()
    question = _out(fields.String(metadata={"description": "What the agent asks you"}), "Question")
    conversation_id = _out(
        fields.String(
            metadata={"description": "Send your answer to this conversation (Send Message) to resume the task"}
        ),
        "Conversation ID",
    )
    question_message_id = _out(fields.String(metadata={"description": "The question's message"}), "Question Message ID")
    url = _url()
    external_id = _external_id()
    metadata = _metadata()
    codebase_id = _codebase_id()
    agent_type = _agent_type()


class NewMessageOutput(ma.Schema):
    """The agent's reply in a conversation (never the user's own messages)."""

    id = _out(fields.String(), "Event ID")
    message_id = _out(fields.String(), "Message ID")
    conversation_id = _out(
        fields.String(metadata={"description": "The conversation, e.g. the Slack thread_ts you sent"}),
        "Conversation ID",
    )
    content = _out(fields.String(metadata={"description": "The agent's reply"}), "Content")
    task_id = _out(fields.String(allow_none=True, metadata={"description": "The task that replied"}), "Task ID")
    created_at = _out(UTCDateTime(), "Created At")
    conversation_external_id = _out(
        fields.String(
            allow_none=True,
            metadata={"description": "The External ID of the message that started the conversation"},
        ),
        "Conversation External ID",
    )


# The item each event type gives a Zap (the "zapier" payload format): the
# fields of its trigger's output.
ITEMS = {
    "task.created": NewTaskOutput,
    "task.started": TaskStartedOutput,
    "task.completed": TaskCompletedOutput,
    "task.failed": TaskFailedOutput,
    "task.cancelled": TaskCancelledOutput,
    "task.input_required": TaskNeedsInputOutput,
    "message.created": NewMessageOutput,
}


class TaskLine(ma.Schema):
    """One task of Find Tasks (list): a Zapier line item."""

    id = _out(fields.String(metadata={"description": "The task's ID"}), "Task ID")
    title = _title()
    status = _out(fields.String(metadata={"description": "pending, running, completed, failed or cancelled"}), "Status")
    url = _url()
    result = _out(
        fields.String(allow_none=True, metadata={"description": "What the agent produced: its first 2,000 characters"}),
        "Result",
    )
    error = _out(fields.String(allow_none=True, metadata={"description": "Why the task failed"}), "Error")
    created_at = _out(UTCDateTime(), "Created At")
    completed_at = _out(UTCDateTime(allow_none=True), "Completed At")
    failed_at = _out(UTCDateTime(allow_none=True), "Failed At")
    cancelled_at = _out(UTCDateTime(allow_none=True), "Cancelled At")


class TaskDigest(ma.Schema):
    """Find Tasks (list)'s one item: the matching tasks, counted, listed and
    written up as a message ready to post."""

    id = _out(fields.String(metadata={"description": "The same for the same tasks"}), "Digest ID")
    count = _out(fields.Integer(metadata={"description": "How many tasks matched"}), "Count")
    more = _out(
        fields.Boolean(metadata={"description": "More tasks matched than Tasks lists (it lists the newest 100)"}),
        "More Than Listed",
    )
    summary = _out(
        fields.String(metadata={"description": "A ready-to-post digest: a heading, then a line per task"}), "Summary"
    )
    tasks = _out(fields.List(fields.Nested(TaskLine)), "Tasks")
