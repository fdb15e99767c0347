"""The hub calls behind the A2A handler, each run on a thread in the hub's
app context for one user (``Bridge.call``): what to send, and what a task is
now (its conversation, its new output), read in one go."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from a2a.types import ListTasksRequest, ListTasksResponse, TaskPushNotificationConfig, TaskState
from a2a.utils.errors import UnsupportedOperationError

from connectors.a2a import mapping, push
from connectors.base import hub

HISTORY_PAGES = 4  # a task's history: at most this many pages of its conversation (50 messages each)
PAGE_SIZE, PAGE_MAX = 50, 100  # ListTasks' page size when not given, and at most


def send(
    user: hub.User,
    text: str,
    context_id: str,
    task_id: str,
    scopes: frozenset[str],
    *,
    read: bool = False,
    push_config: TaskPushNotificationConfig | None = None,
    v03: bool = False,
    agent_type: str | None = None,
) -> tuple[str, Snapshot | None]:
    """A message to a task (its answer to the agent's question) or in a
    context (a conversation: a new task in it, or the answer to the task in
    it that waits for one); the task's id, and (``read``) the task then: a
    task the message started is answered as the send made it (its history is
    this message), with no second read. A ``push_config`` sent with it
    becomes the task's (``v03``: set with v0.3's names), checked first: a bad
    one is refused before the message changes anything. ``agent_type``: a
    new task's (None: the hub's default for a message, ``general``)."""
    if push_config is not None:
        push.check_config(push_config, scopes=scopes, v03=v03)
    task_id, started = _send(user, text, context_id, task_id, scopes, agent_type)
    if push_config is not None:
        config = TaskPushNotificationConfig()
        config.CopyFrom(push_config)
        config.task_id = task_id
        push.create_config(user, config, scopes=scopes, v03=v03)
        started = None  # read again: the config came after
    if not read:
        return task_id, None
    return task_id, started or snapshot(user, task_id)


def _send(
    user: hub.User, text: str, context_id: str, task_id: str, scopes: frozenset[str], agent_type: str | None
) -> tuple[str, Snapshot | None]:
    if task_id:
        task = hub.get_task(user, task_id)
        if context_id and task.get("conversation_id") and context_id != task["conversation_id"]:
            raise mapping.invalid(
                "message.contextId",
                f"Task {task_id} is in the context {task['conversation_id']}, not {context_id}.",
            )
        if task["status"] != "input_required":
            raise UnsupportedOperationError(
                message=f"Task {task_id} is {mapping.state_name(task['status'])}: only a task in input-required "
                "takes a message (its answer). Send a message without a taskId for new work."
            )
        hub.reply_to_task(user, task_id, text)
        return task_id, None
    sent = hub.send_message(
        user, message=text, conversation_id=context_id or None, scopes=scopes, with_task=True, agent_type=agent_type
    )
    started = sent.pop("task")
    return str(sent["task_id"]), Snapshot(started, [sent]) if started is not None else None


@dataclass
class Snapshot:
    task: hub.Task
    messages: list[hub.Message] = field(default_factory=list)  # its conversation's, oldest first (when read)
    output: list[hub.OutputChunk] = field(default_factory=list)  # its output after the chunk asked for

    @property
    def question(self) -> hub.Message | None:
        own = [m for m in self.messages if m.get("task_id") == self.task["id"]]
        return next((m for m in reversed(own) if m["role"] == "assistant"), None)

    def a2a(self, *, history_length: int | None = None) -> Any:
        return mapping.a2a_task(self.task, self.messages, history_length=history_length)


def snapshot(user: hub.User, task_id: str, *, messages: bool = True, output_after: int | None = None) -> Snapshot:
    """The task now; its conversation's messages; its output after the chunk
    ``output_after`` (None: not read)."""
    task = hub.get_task(user, task_id)
    found = Snapshot(task, conversation(user, task) if messages else [])
    if output_after is not None:
        found.output = hub.task_output(user, task_id, after=output_after, limit=PAGE_MAX).items
    return found


def conversation(user: hub.User, task: hub.Task) -> list[hub.Message]:
    if not task.get("conversation_id"):
        return []
    found: list[hub.Message] = []
    for page in range(HISTORY_PAGES):
        listed = hub.list_messages(user, task["conversation_id"], page=page, limit=50)
        found.extend(listed.items)
        if not listed.more:
            break
    return found


def list_tasks(user: hub.User, params: ListTasksRequest) -> ListTasksResponse:
    """A page of the user's tasks, newest first, as ListTasks filters them:
    by context (conversation), status, and the last status change's time."""
    size = params.page_size if params.HasField("page_size") else PAGE_SIZE
    if size < 1:
        raise mapping.invalid("pageSize", "pageSize must be 1 or more.")
    size = min(size, PAGE_MAX)
    if params.page_token and not params.page_token.isdigit():
        raise mapping.invalid("pageToken", "pageToken is not one this server gave.")
    page = int(params.page_token or 0)
    history = params.history_length if params.HasField("history_length") else 0
    if history < 0:
        raise mapping.invalid("historyLength", "historyLength must be 0 or more.")
    status: str | None = None
    if params.status != TaskState.TASK_STATE_UNSPECIFIED:
        status = mapping.STATUSES.get(params.status)
        if status is None:  # a state the hub never has (rejected, auth-required)
            return ListTasksResponse(page_size=size, total_size=0)
    if params.context_id:
        tasks, more, total = _in_context(user, params.context_id, status, page, size)
    else:
        listed = hub.list_tasks(user, page=page, limit=size, status=status)
        tasks, more = listed.items, listed.more
        total = hub.count_tasks(user, status=status) if more or page else len(tasks)
    if params.HasField("status_timestamp_after"):
        after = params.status_timestamp_after.ToDatetime(tzinfo=UTC)
        tasks = [task for task in tasks if mapping.moment(task["updated_at"]) >= after]
    answer = ListTasksResponse(page_size=size, total_size=total, next_page_token=str(page + 1) if more else "")
    for task in tasks:
        messages = conversation(user, task) if history else []
        answer.tasks.append(mapping.a2a_task(task, messages, history_length=history))
    return answer


def _in_context(
    user: hub.User, context_id: str, status: str | None, page: int, size: int
) -> tuple[list[hub.Task], bool, int]:
    """The tasks of one conversation (newest first): those its messages name."""
    try:
        messages = conversation(user, {"conversation_id": context_id})
    except hub.NotFound:  # unknown, or another user's: none of theirs
        return [], False, 0
    ids = list(dict.fromkeys(m["task_id"] for m in reversed(messages) if m.get("task_id")))
    tasks = []
    for task_id in ids:
        try:
            task = hub.get_task(user, task_id)
        except hub.NotFound:
            continue
        if status is None or task["status"] == status:
            tasks.append(task)
    # Newest first by creation, as every list: the messages' order is the conversation's activity (an agent's
    # question on an older task may come after a newer task's message).
    tasks.sort(key=lambda task: task["created_at"], reverse=True)
    start = page * size
    return tasks[start : start + size], len(tasks) > start + size, len(tasks)
