"""The hub's tasks in A2A's words (a2a-sdk's types): one task, one id.

The A2A task id is the hub task's id and its contextId the task's
conversation. The status maps one to one (an agent's queue is ``submitted``,
its run ``working``); the agent's question (``input-required``) and a
failure's error are the status message; the agent's result is the task's
artifact; the conversation's messages of this task are its history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from a2a.types import (
    Artifact,
    Message,
    Part,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import InvalidParamsError

from connectors.base import hub

STATES = {
    "pending": TaskState.TASK_STATE_SUBMITTED,
    "running": TaskState.TASK_STATE_WORKING,
    "input_required": TaskState.TASK_STATE_INPUT_REQUIRED,
    "completed": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "cancelled": TaskState.TASK_STATE_CANCELED,
}
STATUSES = {state: status for status, state in STATES.items()}  # A2A's state -> the hub's status
ENDED = frozenset({"completed", "failed", "cancelled"})
SETTLED = ENDED | {"input_required"}  # where a blocking send or a stream stops: the task ended, or waits for the user
RESULT, OUTPUT = "result", "output"  # the artifacts' ids' suffixes: the agent's answer, its progress as it worked


def invalid(field: str, message: str) -> InvalidParamsError:
    """Invalid params naming the field (as the SDK's own validation does: a list of field and message)."""
    return InvalidParamsError(message=message, data={"errors": [{"field": field, "message": message}]})


def state(status: str) -> TaskState:
    return STATES.get(status, TaskState.TASK_STATE_WORKING)


def state_name(status: str) -> str:
    """As A2A writes it: ``input-required``, ``canceled``, ..."""
    return TaskState.Name(state(status)).removeprefix("TASK_STATE_").lower().replace("_", "-")


def moment(iso: str) -> datetime:
    """A time the hub wrote (ISO 8601, UTC with a Z)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def status_of(task: hub.Task, question: hub.Message | None = None) -> TaskStatus:
    """The task's A2A status; its message says what the user is waiting for."""
    status = TaskStatus(state=state(task["status"]))
    status.timestamp.FromDatetime(moment(task["updated_at"]))
    text = None
    if task["status"] == "input_required" and question is not None:
        text = question["content"]
    elif task["status"] == "failed":
        text = task.get("error") or "The agent failed."
    if text:
        status.message.CopyFrom(agent_message(task, text, f"{task['id']}-status"))
    return status


def agent_message(task: hub.Task, text: str, message_id: str) -> Message:
    return Message(
        message_id=message_id,
        context_id=task.get("conversation_id") or "",
        task_id=task["id"],
        role=Role.ROLE_AGENT,
        parts=[Part(text=text)],
    )


def history_message(message: hub.Message) -> Message:
    return Message(
        message_id=message["id"],
        context_id=message["conversation_id"],
        task_id=message.get("task_id") or "",
        role=Role.ROLE_AGENT if message["role"] == "assistant" else Role.ROLE_USER,
        parts=[Part(text=message["content"])],
    )


def result_artifact(task: hub.Task) -> Artifact | None:
    """The agent's answer, once the task completed with one."""
    if task["status"] != "completed" or not task.get("result"):
        return None
    return Artifact(artifact_id=f"{task['id']}-{RESULT}", name="result", parts=[Part(text=task["result"])])


def output_artifact(task_id: str, chunks: list[hub.OutputChunk]) -> Artifact:
    """What the agent printed as it worked (progress), a chunk at a time."""
    text = "".join(chunk["text"] for chunk in chunks)
    return Artifact(artifact_id=f"{task_id}-{OUTPUT}", name="output", parts=[Part(text=text)])


def a2a_task(
    task: hub.Task, messages: list[hub.Message], *, history_length: int | None = None, artifacts: bool = True
) -> Task:
    """The A2A task of a hub task and its conversation's ``messages`` (oldest
    first; those of this task make its history, the last ``history_length``
    of them when given)."""
    own = [message for message in messages if message.get("task_id") == task["id"]] or messages
    question = next((m for m in reversed(own) if m["role"] == "assistant"), None)
    history = [history_message(message) for message in own]
    if not history:  # a task created by the REST API, outside a conversation: its prompt started it
        history = [
            Message(
                message_id=f"{task['id']}-prompt",
                context_id=task.get("conversation_id") or "",
                task_id=task["id"],
                role=Role.ROLE_USER,
                parts=[Part(text=task["prompt"])],
            )
        ]
    if history_length is not None:
        history = history[len(history) - history_length :] if history_length else []
    found = Task(
        id=task["id"],
        context_id=task.get("conversation_id") or "",
        status=status_of(task, question),
        history=history,
    )
    artifact = result_artifact(task) if artifacts else None
    if artifact is not None:
        found.artifacts.append(artifact)
    found.metadata.update(_metadata(task))
    return found


def _metadata(task: hub.Task) -> dict[str, Any]:
    """What an A2A client may want of the hub's task: its page, its title, its agent."""
    return {"title": task["title"], "agentType": task["agent_type"], "url": task["url"]}


def status_event(task: hub.Task, question: hub.Message | None = None) -> TaskStatusUpdateEvent:
    return TaskStatusUpdateEvent(
        task_id=task["id"], context_id=task.get("conversation_id") or "", status=status_of(task, question)
    )


def artifact_event(task: hub.Task, artifact: Artifact, *, append: bool, last: bool) -> TaskArtifactUpdateEvent:
    return TaskArtifactUpdateEvent(
        task_id=task["id"],
        context_id=task.get("conversation_id") or "",
        artifact=artifact,
        append=append,
        last_chunk=last,
    )
