"""Per-task callbacks: one signed POST to the caller's URL when its task ends.

The primitive a workflow resumes on (Zapier's ``performResume``, n8n's Wait
node, A2A push configs: /work/shared/docs/ROUNDTRIP.md). A callback is a
``Subscription`` scoped to one task (``task_id``), made in the create's own
transaction: the outbox, fan-out, lanes, signing, retries, SSRF guard,
replay and delivery log are the hooks' own, and only the fan-out's matching
(``hub.webhooks.delivery``) tells a callback from a hook. A task may have
several (a workflow's create, then its Send Message to the same task; A2A
push configs), each independent. Each fires once (one final delivery at
most, a unique index says so): when its task completes, or for a Send
Message turn when the agent's reply is created; or when the task fails or is
cancelled. One made for status updates (A2A's) also tells of each question
(``task.input_required``) before that, and waits for the task's end.

Its caller may give headers to send with it (an ``Authorization``: A2A's
authentication info); they are sealed as the URL is and never shown again.

The URL is a secret (Zapier does not sign its callbacks: whoever has the URL
resumes the Zap), so it is stored sealed like the signing secret, and every
page, list and log shows only its scheme and host (``ssrf.shown``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from hub.db import db, new_id, utcnow
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.models import Delivery, Subscription, Task, User
from hub.models.tasks import ACTIVE_STATUSES, EXTERNAL_ID_MAX
from hub.models.webhooks import CALLBACK_PROGRESS, CALLBACK_WAITS
from hub.services import hooks, locked, spaces
from hub.webhooks import formatters, signing, ssrf

# What a callback waits for (``Subscription.event``); the task's failure or
# cancellation fires it too (``hub.models.webhooks.CALLBACK_ENDS``).
TASK_DONE, REPLY = CALLBACK_WAITS  # REPLY: Send Message's, the agent's reply (it names its task)
(QUESTION,) = CALLBACK_PROGRESS  # what a status-updates callback also tells of, each time

# A caller's headers: a few, HTTP tokens for names, none of those the hub
# sets itself (the signature's, the body's, the connection's).
HEADERS_MAX = 4
HEADER_VALUE_MAX = 4096
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
# Printable ASCII and tab: no CR/LF to split a header, and nothing the sender
# cannot encode (httpx sends values as ASCII: any other would fail every try).
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*$")
# Live callbacks a task may have: each event of it fans out to all of them.
CALLBACKS_MAX = 10
RESERVED_HEADERS = frozenset(
    ("host", "content-type", "content-length", "transfer-encoding", "connection", "user-agent")
) | frozenset(("webhook-id", "webhook-timestamp", "webhook-signature"))


@dataclass(frozen=True)
class Prepared:
    """A callback checked and sealed before the create's write transaction
    (the SSRF check resolves a host name: never under the write lock)."""

    event: str
    shown_url: str
    url_sealed: str
    secret: str
    secret_sealed: str
    format: str
    headers_sealed: str | None = None
    progress_event: str | None = None
    external_id: str | None = None


def prepare(
    url: str | None,
    format: str | None,
    *,
    event: str,
    scopes: Iterable[str] | None = None,
    headers: Mapping[str, str] | None = None,
    progress_event: str | None = None,
) -> Prepared | None:
    """Check a create's ``callback_url`` and ``callback_format`` (and the
    ``headers`` to send with it); None when no URL is given. The credential
    must be able to read what the callback carries (``event``'s scope), as
    for a hook."""
    if not url:
        if format:
            raise ValidationFailed("callback_format", "Give callback_url too: the format is the callback's.")
        return None
    _check_headers(headers or {})
    hooks.check_event_scope(event, scopes)
    format = format or formatters.DEFAULT
    if format not in formatters.names():
        raise ValidationFailed(
            "callback_format", f"Unknown format '{format}'; use one of: {', '.join(formatters.names())}."
        )
    try:
        ssrf.check(url, current_app.config["HUB_WEBHOOK_ALLOW_NETWORKS"])
    except ssrf.Refused as refused:  # names the host, never the path or query
        raise ValidationFailed("callback_url", f"The URL {refused}.") from None
    key = current_app.config["SECRET_KEY"]
    secret = signing.new_secret()
    headers_sealed = signing.seal_headers(headers, key) if headers else None
    return Prepared(
        event,
        ssrf.shown(url),
        signing.seal(url, key),
        secret,
        signing.seal(secret, key),
        format,
        headers_sealed,
        progress_event,
    )


def _check_headers(headers: Mapping[str, str]) -> None:
    """Names and values only, never echoing a value: it may be a credential."""
    if len(headers) > HEADERS_MAX:
        raise ValidationFailed("callback_headers", f"At most {HEADERS_MAX} headers.")
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ValidationFailed("callback_headers", "A header name is 1 to 64 letters, digits or -_.!#$%&'*+^`|~.")
        if name.lower() in RESERVED_HEADERS:
            raise ValidationFailed("callback_headers", f"The hub sets '{name}' itself.")
        if not isinstance(value, str) or not value or len(value) > HEADER_VALUE_MAX or not _HEADER_VALUE.match(value):
            raise ValidationFailed(
                "callback_headers",
                f"The value of '{name}' is 1 to {HEADER_VALUE_MAX} printable ASCII characters.",
            )


# A plain insert in the create's transaction, as the task's own (fast_create).
_INSERT = Subscription.__table__.insert()


def add(task: Task, callback: Prepared) -> str:
    """Add the task's callback in the caller's write transaction; its id."""
    callback_id = new_id("cb_")
    db.session.execute(
        _INSERT,
        {
            "id": callback_id,
            "user_pk": task.user_pk,
            "space_pk": task.space_pk,
            "task_id": task.id,
            "event": callback.event,
            "target_url": callback.shown_url,
            "target_sealed": callback.url_sealed,
            "secret_sealed": callback.secret_sealed,
            "format": callback.format,
            "headers_sealed": callback.headers_sealed,
            "progress_event": callback.progress_event,
            "external_id": callback.external_id,
            "created_at": utcnow(),
        },
    )
    return callback_id


def add_to(task: Task, callback: Prepared) -> str:
    """One more callback for an unfinished task, in the caller's write
    transaction (the task row locked); its id. The task shows its first's URL."""
    task.callback_shown_url = task.callback_shown_url or callback.shown_url
    return add(task, callback)


def attach(
    user: User,
    task_id: str,
    url: str,
    format: str | None = None,
    *,
    scopes: Iterable[str] | None = None,
    headers: Mapping[str, str] | None = None,
    status_updates: bool = False,
    external_id: str | None = None,
) -> Task:
    """Give the user's unfinished task one more callback after its create (a
    workflow waiting on a task it did not make), as ``callback_url`` on the
    create would: a Send Message turn's fires on the agent's reply. With
    ``status_updates`` it fires on each question and at the task's end, with
    the task (an A2A push config). ``task.callback_secret`` and
    ``task.callback_id`` hold its secret and id for the answer alone.
    ``external_id``: the caller's own id for it; it replaces the task's live
    callback of that id, if any (A2A's "set or update"). The task row stays
    locked from the check to the insert, so it cannot end unseen in between.
    NotFound: not in the user's space; Conflict: it has ended."""
    spaces.require_role(user, "work")
    by_id = select(Task).where(Task.id == task_id, Task.space_pk == user.space_pk)
    task = db.session.scalar(by_id)
    if task is None:
        raise NotFound(f"No task '{task_id}'.")
    event = TASK_DONE if status_updates or not task.conversation_pk else REPLY
    callback = prepare(
        url, format, event=event, scopes=scopes, headers=headers, progress_event=QUESTION if status_updates else None
    )
    if callback is None:
        raise ValidationFailed("callback_url", "Must not be empty.")
    check_external_id(external_id)
    callback = replace(callback, external_id=external_id)
    task = locked.task(user, task_id)
    if task.status not in ACTIVE_STATUSES:
        raise Conflict(f"Task '{task_id}' is {task.status}: it has ended.", code="task_ended")
    live = db.session.scalars(_live(task)).all()
    replaced = [earlier for earlier in live if external_id is not None and earlier.external_id == external_id]
    if len(live) - len(replaced) >= CALLBACKS_MAX:
        db.session.rollback()
        raise Conflict(
            f"Task '{task_id}' has too many callbacks: at most {CALLBACKS_MAX}; delete one first.",
            code="too_many_callbacks",
        )
    for earlier in replaced:
        earlier.deleted_at = utcnow()
    callback_id = add_to(task, callback)
    db.session.commit()
    task.callback_secret = callback.secret  # type: ignore[attr-defined]  # not a column: the answer's alone
    task.callback_id = callback_id  # type: ignore[attr-defined]
    return task


def check_external_id(external_id: str | None) -> None:
    """A caller's own id for a callback: 1 to ``EXTERNAL_ID_MAX`` characters."""
    if external_id is not None and not 0 < len(external_id) <= EXTERNAL_ID_MAX:
        raise ValidationFailed("external_id", f"1 to {EXTERNAL_ID_MAX} characters.")


def _task(user: User, task_id: str) -> Task:
    task = db.session.scalar(select(Task).where(Task.id == task_id, Task.space_pk == user.space_pk))
    if task is None:
        raise NotFound(f"No task '{task_id}'.")
    return task


def _live(task: Task) -> Select[Any]:
    return (
        select(Subscription)
        .where(
            Subscription.task_id == task.id, Subscription.space_pk == task.space_pk, Subscription.deleted_at.is_(None)
        )
        .order_by(Subscription.pk)
    )


def _final_delivery(callback: Subscription) -> Delivery | None:
    return db.session.scalar(
        select(Delivery)
        .where(Delivery.subscription_pk == callback.pk, Delivery.callback.is_not(None))
        .options(selectinload(Delivery.attempt_log))
    )


def described(callback: Subscription) -> dict[str, Any]:
    """A callback as its owner may see it: never its URL's path, its secret
    or its headers."""
    return {
        "id": callback.id,
        "task_id": callback.task_id,
        "url": callback.target_url,
        "event": callback.event,
        "status_updates": callback.progress_event is not None,
        "external_id": callback.external_id,
        "format": callback.format,
        "created_at": callback.created_at,
    }


def of_task(user: User, task: Task) -> dict[str, Any]:
    """The task's first callback and its final delivery (None until the task
    ends), for the API; NotFound if the task has none."""
    callback = db.session.scalar(_live(task))
    if callback is None:
        raise NotFound(f"Task '{task.id}' has no callback.")
    return {**described(callback), "delivery": _final_delivery(callback)}


def list_for(user: User, task_id: str) -> list[dict[str, Any]]:
    """The callbacks of the user's task, oldest first (NotFound: not theirs)."""
    return [described(callback) for callback in db.session.scalars(_live(_task(user, task_id)))]


def get(user: User, task_id: str, callback_id: str) -> dict[str, Any]:
    """One callback of the user's task (NotFound: not theirs, or no such callback)."""
    callback = db.session.scalar(_live(_task(user, task_id)).where(Subscription.id == callback_id))
    if callback is None:
        raise NotFound(f"Task '{task_id}' has no callback '{callback_id}'.")
    return described(callback)


def delete(user: User, task_id: str, callback_id: str) -> None:
    """Stop one callback of the user's task: it is not sent, nor retried
    (kept, deleted, for its delivery log). NotFound: not theirs, or no such
    callback; deleting it again is NotFound too."""
    spaces.require_role(user, "work")
    task = locked.task(user, task_id)
    callbacks = db.session.scalars(_live(task)).all()
    gone = next((callback for callback in callbacks if callback.id == callback_id), None)
    if gone is None:
        db.session.rollback()
        raise NotFound(f"Task '{task_id}' has no callback '{callback_id}'.")
    gone.deleted_at = utcnow()
    left = [callback for callback in callbacks if callback is not gone]
    task.callback_shown_url = left[0].target_url if left else None
    db.session.commit()
