"""Share links: a read-only view of one task for people outside its space
(a customer, a reviewer without an account). The link's token is shown once
and only its SHA-256 is kept; a link ends when it expires or is revoked, and
then answers as a token that never existed (no oracle)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select

from hub.crypto import hash_secret
from hub.db import begin_write, db, new_id, utcnow
from hub.errors import NotFound, ValidationFailed
from hub.models import Message, ShareLink, Space, Task, User
from hub.services import audit, spaces, tasks

TOKEN_PREFIX = "cts_"
# Base-62 digits: about 256 bits, so guessing a live token is not feasible
# (the page needs no rate limit of its own for that).
TOKEN_DIGITS = 43
DAYS = (1, 7, 30)  # the expiry choices offered
DEFAULT_DAYS = 7

_LIVE = (
    select(Task)
    .join(ShareLink, ShareLink.task_pk == Task.pk)
    .join(Space, Space.pk == Task.space_pk)
    .where(ShareLink.token_hash == bindparam("token_hash"), ShareLink.revoked_at.is_(None))
    .where(ShareLink.expires_at > bindparam("now"), Space.deleted_at.is_(None))
)


def url_of(token: str) -> str:
    return f"{current_app.config['HUB_BASE_URL']}/share/{token}"


def create(user: User, task_id: str, days: int = DEFAULT_DAYS) -> tuple[ShareLink, str]:
    """A link to task ``task_id`` of the space ``user`` acts in (``work``
    role), valid ``days`` days; the plain token is returned once."""
    if days not in DAYS:
        raise ValidationFailed("days", f"Must be one of {', '.join(map(str, DAYS))}.")
    spaces.require_role(user, "work")
    begin_write()
    task = tasks.get_task(user, task_id)
    plain = new_id(TOKEN_PREFIX, TOKEN_DIGITS)
    now = utcnow()
    link = ShareLink(
        id=new_id("shl_", 16),
        task_pk=task.pk,
        token_hash=hash_secret(plain),
        created_by_pk=user.pk,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(link)
    audit.record(user, "share_link.created", target=task.id, detail={"link": link.id, "days": days})
    db.session.commit()
    return link, plain


def of_task(user: User, task_id: str) -> list[ShareLink]:
    """The task's links still open, newest first (``read`` role)."""
    spaces.require_role(user, "read")
    task = tasks.get_task(user, task_id)
    query = select(ShareLink).where(
        ShareLink.task_pk == task.pk, ShareLink.revoked_at.is_(None), ShareLink.expires_at > utcnow()
    )
    return list(db.session.scalars(query.order_by(ShareLink.pk.desc())))


def revoke(user: User, task_id: str, link_id: str) -> ShareLink:
    """End link ``link_id`` of task ``task_id`` at once (``work`` role);
    revoking it again changes nothing."""
    spaces.require_role(user, "work")
    begin_write()
    task = tasks.get_task(user, task_id)
    link = db.session.scalar(select(ShareLink).where(ShareLink.id == link_id, ShareLink.task_pk == task.pk))
    if link is None:
        raise NotFound(f"No share link '{link_id}' on this task.")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        audit.record(user, "share_link.revoked", target=task.id, detail={"link": link.id})
    db.session.commit()
    return link


def shared_task(token: str) -> Task:
    """The task a live link's token opens; NotFound for an unknown, expired
    or revoked token alike (and for a task whose space was deleted)."""
    task = db.session.scalar(_LIVE, {"token_hash": hash_secret(token), "now": utcnow()})
    if task is None:
        raise NotFound("No such shared task: the link is wrong, expired or revoked.")
    return task


def messages_of(task: Task) -> list[Message]:
    """The task's own messages in its conversation (its question, the reply,
    its answer): never another task's, which a link does not share."""
    if task.conversation_pk is None:
        return []
    query = select(Message).where(Message.conversation_pk == task.conversation_pk, Message.task_id == task.id)
    return list(db.session.scalars(query.order_by(Message.pk)))
