"""Per-task callbacks: one signed POST to the caller's URL when its task ends.

The primitive a workflow resumes on (Zapier's ``performResume``, n8n's Wait
node, A2A push configs: /work/shared/docs/ROUNDTRIP.md). A callback is a
``Subscription`` scoped to one task (``task_id``), made in the create's own
transaction: the outbox, fan-out, lanes, signing, retries, SSRF guard,
replay and delivery log are the hooks' own, and only the fan-out's matching
(``hub.webhooks.delivery``) tells a callback from a hook. It fires once
(one delivery at most, a unique index says so): when its task completes, or
for a Send Message turn when the agent's reply is created; or when the task
fails or is cancelled.

The URL is a secret (Zapier does not sign its callbacks: whoever has the URL
resumes the Zap), so it is stored sealed like the signing secret, and every
page, list and log shows only its scheme and host (``ssrf.shown``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.db import begin_write, db, new_id, utcnow
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.models import Delivery, Subscription, Task, User
from hub.models.tasks import ACTIVE_STATUSES
from hub.models.webhooks import CALLBACK_WAITS
from hub.services import hooks
from hub.webhooks import formatters, signing, ssrf

# What a callback waits for (``Subscription.event``); the task's failure or
# cancellation fires it too (``hub.models.webhooks.CALLBACK_ENDS``).
TASK_DONE, REPLY = CALLBACK_WAITS  # REPLY: Send Message's, the agent's reply (it names its task)


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


def prepare(url: str | None, format: str | None, *, event: str, scopes: Iterable[str] | None = None) -> Prepared | None:
    """Check a create's ``callback_url`` and ``callback_format``; None when
    no URL is given. The credential must be able to read what the callback
    carries (``event``'s scope), as for a hook."""
    if not url:
        if format:
            raise ValidationFailed("callback_format", "Give callback_url too: the format is the callback's.")
        return None
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
    return Prepared(event, ssrf.shown(url), signing.seal(url, key), secret, signing.seal(secret, key), format)


# A plain insert in the create's transaction, as the task's own (fast_create).
_INSERT = Subscription.__table__.insert()


def add(user_pk: int, task_id: str, callback: Prepared) -> None:
    """Add the task's callback in the caller's write transaction."""
    db.session.execute(
        _INSERT,
        {
            "id": new_id("cb_"),
            "user_pk": user_pk,
            "task_id": task_id,
            "event": callback.event,
            "target_url": callback.shown_url,
            "target_sealed": callback.url_sealed,
            "secret_sealed": callback.secret_sealed,
            "format": callback.format,
            "created_at": utcnow(),
        },
    )


def attach(
    user: User, task_id: str, url: str, format: str | None = None, *, scopes: Iterable[str] | None = None
) -> Task:
    """Give the user's unfinished task its callback after its create (a
    workflow waiting on a task it did not make), as ``callback_url`` on the
    create would: a Send Message turn's fires on the agent's reply.
    ``task.callback_secret`` holds its secret for the answer alone. The task
    row stays locked from the check to the insert, so it cannot end unseen in
    between. NotFound: not the user's; Conflict: it has ended, or has its callback."""
    by_id = select(Task).where(Task.id == task_id, Task.user_pk == user.pk)
    task = db.session.scalar(by_id)
    if task is None:
        raise NotFound(f"No task '{task_id}'.")
    callback = prepare(url, format, event=REPLY if task.conversation_pk else TASK_DONE, scopes=scopes)
    if callback is None:
        raise ValidationFailed("callback_url", "Must not be empty.")
    begin_write()
    task = db.session.scalar(by_id.with_for_update().execution_options(populate_existing=True))
    if task is None:
        raise NotFound(f"No task '{task_id}'.")
    if task.status not in ACTIVE_STATUSES:
        raise Conflict(f"Task '{task_id}' is {task.status}: it has ended.", code="task_ended")
    if db.session.scalar(select(Subscription.pk).where(Subscription.task_id == task.id)) is not None:
        raise Conflict(f"Task '{task_id}' already has a callback.", code="callback_exists")
    add(user.pk, task.id, callback)
    task.callback_shown_url = callback.shown_url
    db.session.commit()
    task.callback_secret = callback.secret  # type: ignore[attr-defined]  # not a column: the answer's alone
    return task


def of_task(user: User, task: Task) -> dict[str, Any]:
    """The task's callback and its delivery (None until the task ends), for
    the API; NotFound if the task has none."""
    callback = db.session.scalar(
        select(Subscription).where(Subscription.task_id == task.id, Subscription.user_pk == user.pk)
    )
    if callback is None:
        raise NotFound(f"Task '{task.id}' has no callback.")
    delivery = db.session.scalar(
        select(Delivery).where(Delivery.subscription_pk == callback.pk).options(selectinload(Delivery.attempt_log))
    )
    return {
        "id": callback.id,
        "url": callback.target_url,
        "event": callback.event,
        "format": callback.format,
        "created_at": callback.created_at,
        "delivery": delivery,
    }
