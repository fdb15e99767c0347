"""An agent's question and the user's reply: the input_required state.

A running task's agent may stop and ask (the worker's ``ask``): the question
becomes the assistant's message in the task's conversation (a task started
without one gets one, opening with its prompt), the task becomes
``input_required`` and its worker lets go of it. The user's next message in
that conversation (``reply``, or Send Message to the conversation) resumes
the same task: pending again, claimable, the conversation its context.

The question's ``message.created`` event names no task, as the user's
messages do not: a per-task callback waits for the agent's reply or the
task's end, never for a question (``task.input_required`` says it asks).
"""

from __future__ import annotations

from sqlalchemy import select

from hub import live, wakeups
from hub.db import db, new_id, utcnow
from hub.errors import Conflict
from hub.models import Conversation, Message, Task, User
from hub.schemas import dump_message
from hub.services import callbacks, events, locked, spaces, tasks

WAITING = "input_required"
REPLY_MAX = 100_000  # characters: as a message sent to a conversation (hub.schemas.MessageCreateSchema)


def ask(task: Task, question: str) -> Message:
    """The agent of running ``task`` asks ``question``, in the caller's
    transaction: its message, the task's new state and their events."""
    conversation = task.conversation or _start_conversation(task)
    msg = _add_message(conversation, "assistant", question, task.id)
    tasks.transition(
        task,
        WAITING,
        detail={"question": question, "question_message_id": msg.id},
        worker_pk=None,
        lease_expires_at=None,
    )
    events.record(task.user_pk, task.space_pk, "message.created", dump_message(msg))
    live.changed(task, live.MESSAGE)
    return msg


def _start_conversation(task: Task) -> Conversation:
    """A conversation for a task created without one: its prompt, as the
    user's first message, and then the question."""
    conversation = Conversation(
        id=new_id("conv_"),
        user_pk=task.user_pk,
        space_pk=task.space_pk,
        codebase_pk=task.codebase_pk,
        created_at=task.created_at,
    )
    db.session.add(conversation)
    db.session.add(
        Message(
            id=new_id("msg_"),
            conversation=conversation,
            role="user",
            content=task.prompt,
            task_id=task.id,
            created_at=task.created_at,
        )
    )
    task.conversation = conversation
    db.session.flush()
    db.session.expire(task, ["conversation_id"])  # read again: the task's events show the new id
    return conversation


def _add_message(conversation: Conversation, role: str, content: str, task_id: str | None) -> Message:
    now = utcnow()
    conversation.updated_at = now
    msg = Message(
        id=new_id("msg_"), conversation=conversation, role=role, content=content, task_id=task_id, created_at=now
    )
    db.session.add(msg)
    db.session.flush()
    return msg


def waiting_task(conversation: Conversation) -> Task | None:
    """The conversation's task that waits for the user's reply, if any
    (locked until the caller commits: a cancel cannot slip in between)."""
    return db.session.scalar(
        select(Task)
        .where(Task.conversation_pk == conversation.pk, Task.status == WAITING)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def resume(task: Task, reply: Message, callback: callbacks.Prepared | None = None) -> None:
    """``reply`` (the user's message, added by the caller) answers the
    waiting ``task``: it names the task, which is pending again. A
    ``callback`` the reply brings (Send Message's) is one more of the task's,
    beside any it has. In the caller's transaction."""
    reply.task_id = task.id
    if callback is not None:
        callbacks.add_to(task, callback)
    tasks.transition(task, "pending")
    live.changed(task, live.MESSAGE)
    wakeups.after_commit()  # a waiting claim takes it now


def reply(user: User, task_id: str, content: str) -> Message:
    """The user answers the question of their ``input_required`` task: the
    reply joins its conversation and the task resumes. NotFound: not the
    user's; Conflict: the task is not waiting for input."""
    spaces.require_role(user, "work")
    task = locked.task(user, task_id)
    if task.status != WAITING or task.conversation is None:
        db.session.rollback()
        raise Conflict(
            f"Task '{task_id}' is {task.status}; only a task waiting for input (input_required) takes a reply.",
            code="task_not_waiting",
            extra={"task_status": task.status},
        )
    msg = _add_message(task.conversation, "user", content, task.id)
    resume(task, msg)
    events.record(user.pk, user.space_pk, "message.created", dump_message(msg))
    db.session.commit()
    return msg


def question_of(task: Task) -> Message | None:
    """The question a waiting task's agent asked (its latest), for the task's page."""
    if task.status != WAITING or task.conversation_pk is None:
        return None
    return db.session.scalar(
        select(Message)
        .where(Message.conversation_pk == task.conversation_pk, Message.task_id == task.id, Message.role == "assistant")
        .order_by(Message.pk.desc())
        .limit(1)
    )
