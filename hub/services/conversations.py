"""Conversations and their messages (Zapier's Send Message)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hub import live
from hub.db import begin_write, db, new_id, utcnow
from hub.errors import NotFound, ValidationFailed
from hub.models import Conversation, Message, Task, User
from hub.schemas import Page, dump_message, fetch_page, paged
from hub.services import callbacks, codebases, events, fast_create, questions, spaces, tasks

# Messages an agent task carries: enough context, bounded size.
HISTORY = 50


def _find(user: User, conversation_id: str) -> Conversation | None:
    return db.session.scalar(
        select(Conversation).where(Conversation.space_pk == user.space_pk, Conversation.id == conversation_id)
    )


def get_conversation(user: User, conversation_id: str) -> Conversation:
    conversation = _find(user, conversation_id)
    if conversation is None:
        raise NotFound(f"No conversation '{conversation_id}'.")
    return conversation


def send_message(
    user: User,
    *,
    message: str,
    conversation_id: str | None = None,
    codebase_id: str | None = None,
    external_id: str | None = None,
    metadata: dict[str, str] | None = None,
    callback_url: str | None = None,
    callback_format: str | None = None,
    scopes: Iterable[str] | None = None,
    agent_type: str = "general",
) -> Message:
    """Append the user's message to a conversation, starting it if the hub
    has not seen ``conversation_id`` (a caller's thread id) for this user.
    The agent's task carries ``external_id`` and ``metadata``; a conversation
    this message starts keeps ``external_id`` too (later ones leave it).
    With a ``callback_url`` the task gets a callback that fires on the
    agent's reply; ``message.callback_secret`` holds its secret for the
    answer alone. ``scopes``: the credential's (None: all). ``agent_type``:
    the new task's (a reply to a waiting task keeps that task's)."""
    spaces.require_role(user, "work")
    refs = CallerRefs(external_id, metadata)
    callback = callbacks.prepare(callback_url, callback_format, event=callbacks.REPLY, scopes=scopes)
    for attempt in range(2):
        try:
            sent = _append(user, message, conversation_id, codebase_id, refs, callback, agent_type)
            if callback:
                sent.callback_secret = callback.secret  # type: ignore[attr-defined]  # not a column: the answer's alone
            return sent
        except IntegrityError:
            # Two first messages of one new thread raced (PostgreSQL); the
            # loser now finds the winner's conversation.
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


class CallerRefs(NamedTuple):
    external_id: str | None
    metadata: dict[str, str] | None


def _append(
    user: User,
    content: str,
    conversation_id: str | None,
    codebase_id: str | None,
    refs: CallerRefs,
    callback: callbacks.Prepared | None,
    agent_type: str,
) -> Message:
    begin_write()
    conversation = _find(user, conversation_id) if conversation_id else None
    now = utcnow()
    started = conversation is None
    if conversation is None:
        # A new conversation, its message and task: each one plain INSERT, out
        # of the session (fast_create), as a REST create's task.
        codebase = codebases.resolve(user, codebase_id)
        conversation = Conversation(
            id=conversation_id or new_id("conv_"),
            user_pk=user.pk,
            space_pk=user.space_pk,
            codebase_pk=codebase.pk,
            codebase=codebase,
            external_id=refs.external_id,
            created_at=now,
            updated_at=now,
        )
        fast_create.insert(conversation)
    elif codebase_id and codebase_id != conversation.codebase.id:
        raise ValidationFailed(
            "codebase_id",
            f"Conversation '{conversation.id}' belongs to codebase "
            f"'{conversation.codebase.id}'; leave codebase_id empty or use that one.",
        )
    conversation.updated_at = now
    msg = Message(
        id=new_id("msg_"),
        conversation=conversation,
        conversation_pk=conversation.pk,
        role="user",
        content=content,
        created_at=now,
    )
    # A task waiting in this conversation for the user's answer takes the message as its reply.
    waiting = None if started else questions.waiting_task(conversation)
    if waiting is not None:
        db.session.add(msg)
        db.session.flush()
        questions.resume(waiting, msg, callback)
        events.record(user.pk, user.space_pk, "message.created", dump_message(msg))
        db.session.commit()
        return msg
    # The agent's turn: a task carrying the conversation so far (a conversation
    # this message starts has nothing else: no query for it). The user's
    # message names the task, so the answer says which task will reply.
    task = tasks.new_task(
        user,
        conversation.codebase,
        title=_title(content),
        prompt=content if started else _prompt([*history(conversation)[1 - HISTORY :], msg]),
        agent_type=agent_type,
        conversation=conversation,
        external_id=refs.external_id,
        metadata=refs.metadata,
        callback=callback,
    )
    msg.task_id = task.id
    fast_create.insert(msg)
    tasks.add_task(user, task, callback=callback)
    events.record(user.pk, user.space_pk, "message.created", dump_message(msg))
    db.session.commit()
    msg.started_task = task  # type: ignore[attr-defined]  # not a column: for a caller answering with the task
    return msg


def history(conversation: Conversation, *, until_pk: int | None = None) -> list[Message]:
    """The conversation's last HISTORY messages, oldest first."""
    query = select(Message).where(Message.conversation_pk == conversation.pk)
    if until_pk is not None:
        query = query.where(Message.pk <= until_pk)
    return list(reversed(db.session.scalars(query.order_by(Message.pk.desc()).limit(HISTORY)).all()))


def history_for(task: Task) -> list[Message]:
    """What the agent sees of ``task``: the conversation up to the user's
    latest message naming it (the one that started it, or the reply to its
    question)."""
    asked = db.session.scalar(select(func.max(Message.pk)).where(Message.task_id == task.id, Message.role == "user"))
    if not asked or task.conversation is None:
        return []
    return history(task.conversation, until_pk=asked)


def append_reply(task: Task) -> Message:
    """The agent's reply to the conversation ``task`` answered, in the
    caller's transaction (the task's completion)."""
    now = utcnow()
    conversation = task.conversation
    if conversation is None:
        raise ValueError(f"task {task.id} is not part of a conversation")
    conversation.updated_at = now
    msg = Message(
        id=new_id("msg_"),
        conversation=conversation,
        role="assistant",
        content=task.result or "",
        task_id=task.id,
        created_at=now,
    )
    db.session.add(msg)
    db.session.flush()
    events.record(task.user_pk, task.space_pk, "message.created", dump_message(msg), task_id=task.id)
    live.changed(task, live.MESSAGE)
    return msg


def _title(content: str) -> str:
    line = content.strip().splitlines()[0] if content.strip() else "Message"
    return "Reply: " + (line[:80] + "…" if len(line) > 80 else line)


def _prompt(messages: list[Message]) -> str:
    """The conversation as one prompt, for agents that take plain text; the
    worker API also gives workers the messages themselves."""
    if len(messages) == 1:
        return messages[0].content
    lines = ["Continue this conversation; reply to the last user message.", ""]
    for m in messages:
        lines += [f"{m.role}:", m.content, ""]
    return "\n".join(lines).rstrip() + "\n"


def list_messages(user: User, conversation_id: str, *, page: int = 0, limit: int = 50) -> Page[Message]:
    """A page of the conversation's messages, oldest first."""
    conversation = get_conversation(user, conversation_id)
    query = select(Message).where(Message.conversation_pk == conversation.pk).order_by(Message.pk)
    return fetch_page(paged(query), page=page, limit=limit)
