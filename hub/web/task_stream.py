"""The task page's live stream: Server-Sent Events of one of the signed-in
user's tasks, so the page shows the agent's output as it arrives rather than
reloading itself.

Events: ``output`` (a chunk of the worker's output; its ``id`` is the chunk's
``seq``, so a reconnecting browser's ``Last-Event-ID`` resumes after the last
chunk it showed), ``state`` (the task's status and the page's parts that show
it, rendered by the page's own templates: one renderer for the first view and
every change) and ``end`` (the task finished: the page stops listening). A
(re)connection starts with the current state, so nothing is lost in a gap.

Changes come from ``hub.live`` (one Redis subscriber per process; a poll while
Redis is down). A stream holds a web thread (gunicorn gthread), so it is
bounded: it lasts ``STREAM_SECONDS`` and the browser reconnects; a process
serves at most half its threads as long requests (``hub.long_requests``; beyond: 503, the page
falls back to reloading); the process's stop ends every stream at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, stream_with_context

from hub import live, long_requests, wakeups
from hub.db import db
from hub.errors import NotFound, ServiceUnavailable
from hub.models import Task, User
from hub.services import spaces, tasks, workers

STREAM_SECONDS = 300.0  # a stream's life: the browser reconnects, so no thread is held for ever by a gone client
HEARTBEAT_SECONDS = 15.0  # a quiet stream's pass this often: the user still signed in, a comment sent
RETRY_MS = 1000  # how soon the browser reconnects after a stream ended
OUTPUT_PAGE = 20  # output chunks a pass (a chunk: up to a million characters)
FINISHED = ("completed", "failed", "cancelled")

_open: dict[live.Subscription, long_requests.Hold] = {}  # this process's streams, ended together when it stops
_lock = threading.Lock()
_stopping = threading.Event()
_hooked = False


def respond(user: User, task_id: str, after: int, render: Callable[[Task], dict[str, str]]) -> Response:
    """The stream of ``user``'s task ``task_id`` (NotFound: not theirs), its
    output after chunk ``after``; ``render(task)`` gives the page's parts."""
    tasks.get_task(user, task_id)
    # The user is read again on each pass: the view's database session ends with it, and a sign-out ends the stream.
    signed_in = (user.pk, user.session_generation)
    db.session.rollback()  # no transaction held open while the stream waits
    subscription = _open_stream(user.space_pk, task_id)
    response = Response(stream_with_context(_events(signed_in, task_id, after, render, subscription)), 200)
    # A HEAD (or a client gone before the first byte) never starts the generator: its close frees the place.
    response.call_on_close(lambda: _release(subscription))
    response.mimetype = "text/event-stream"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy that buffers answers (nginx) passes each event on
    return response


def _open_stream(space_pk: int, task_id: str) -> live.Subscription:
    global _hooked
    # Subscribed before the first read: a change committed in between still arrives.
    subscription = live.subscribe(space_pk, task_id)
    with _lock:
        if not _hooked:
            wakeups.on_stop(_end_all)
            _hooked = True
        place = None if _stopping.is_set() else long_requests.hold()  # shared with A2A's long requests
        if place is not None:
            _open[subscription] = place
            return subscription
    subscription.close()
    raise ServiceUnavailable("Too many live task pages on this server; the page reloads instead.")


def _events(
    signed_in: tuple[int, int],
    task_id: str,
    after: int,
    render: Callable[[Task], dict[str, str]],
    subscription: live.Subscription,
) -> Iterator[str]:
    try:
        yield f"retry: {RETRY_MS}\n\n"
        ends = time.monotonic() + STREAM_SECONDS
        what = {live.STATUS, live.OUTPUT}  # the first pass: everything
        shown: dict[str, str] | None = None
        while True:
            try:
                user = _user(*signed_in)
                if user is None:
                    return  # signed out (or disabled) meanwhile: the browser's reconnection meets the sign-in
                spaces.act_in_task_space(user, task_id)  # left the task's space meanwhile: NotFound, the end
                task = tasks.get_task(user, task_id)
                if task.status in FINISHED:
                    what.add(live.STATUS)  # its last output and state, whatever was missed, before the end
                sent, after, caught_up = _output(task, after) if what else ([], after, True)
                finished = caught_up and task.status in FINISHED
                if caught_up and what - {live.OUTPUT}:  # the state once its output is out: an end ends the page
                    parts = render(task)
                    if parts != shown:
                        sent.append(_event("state", {"status": task.status, **parts}))
                        shown = parts
            except NotFound:  # deleted meanwhile
                sent, finished, caught_up = [], True, True
            finally:
                db.session.rollback()  # the connection goes back to the pool while the stream waits
            yield from sent or [": keep-alive\n\n"]  # a comment keeps proxies from closing a quiet stream
            if finished:
                yield _event("end", {})
                return
            left = ends - time.monotonic()
            if left <= 0 or subscription.closed:
                return  # the browser reconnects (Last-Event-ID); a stopping process ends here at once
            if caught_up:  # else the next page of output at once, then the state
                changes = subscription.get(min(left, HEARTBEAT_SECONDS))  # none: a heartbeat's pass
                what = {one for change in changes for one in change.what}
    finally:
        _release(subscription)


def _release(subscription: live.Subscription) -> None:
    """The stream's place and subscription freed (again a no-op): by the
    generator's end or by the response's close, whichever comes first."""
    subscription.close()
    with _lock:
        place = _open.pop(subscription, None)
    if place is not None:
        place.close()


def _user(pk: int, generation: int) -> User | None:
    user = db.session.get(User, pk)
    if user is None or user.disabled_at is not None or user.session_generation != generation:
        return None
    return user


def _output(task: Task, after: int) -> tuple[list[str], int, bool]:
    """A page of the task's output after chunk ``after`` as events (one page
    a pass: a long catch-up is never held in memory whole), the new cursor,
    and whether that was all."""
    page = workers.output_of(task, after=after, limit=OUTPUT_PAGE)
    sent = [_event("output", {"text": chunk.text}, id=chunk.pk) for chunk in page.items]
    return sent, page.items[-1].pk if page.items else after, not page.more


def _event(name: str, data: dict[str, Any], id: int | None = None) -> str:
    head = f"event: {name}\n" + (f"id: {id}\n" if id is not None else "")
    return f"{head}data: {json.dumps(data)}\n\n"  # JSON has no raw newline: one data line


def _end_all() -> None:
    """The process stops (from its signal handler): end every stream, on a
    thread of its own, as a handler must only hand work on."""
    _stopping.set()

    def end() -> None:
        with _lock:
            streams = list(_open)
        for subscription in streams:
            subscription.close()

    threading.Thread(target=end, name="task-streams-stop", daemon=True).start()
