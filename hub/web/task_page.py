"""The page behind each task's ``url``: what a person lands on from the link
Zapier posts into Slack or a GitHub comment. While the task may change, the
page follows it live (hub/static/task-live.js on ``/tasks/<id>/live``,
hub.web.task_stream): the agent's output as it arrives, and its state parts
(task_summary.html, task_history.html) rendered again on each change."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for

from hub.db import db
from hub.errors import Conflict, ValidationFailed, body
from hub.models import Task, User
from hub.services import callbacks, conversations, events, questions, share_links, spaces, tasks, workers
from hub.web import csrf, task_stream
from hub.web.guard import html_errors, signed_in_user
from hub.web.session import current_web_user, login_required

bp = Blueprint("web_tasks", __name__)
html_errors(bp)

# Without the live stream (no JavaScript, or the stream keeps failing), the
# page of a pending or running task reloads itself this often (seconds).
REFRESH_SECONDS = 3
OUTPUT_SHOWN = 200  # output chunks on opening the page; the stream adds the rest as it comes
MAX_SEQ = 2**63 - 1


@bp.get("/tasks/<task_id>")
@login_required
def task_page(task_id, new_share_url: str | None = None):
    """``new_share_url``: a share link just made (hub.web.share), shown this once."""
    user = signed_in_user()
    spaces.act_in_task_space(user, task_id)  # a task of a space the user is not in: 404
    task = tasks.get_task(user, task_id)
    output = workers.output_tail(task, OUTPUT_SHOWN + 1)
    active = task.status in ("pending", "running", "input_required")
    return render_template(
        "task.html",
        **_state(user, task),
        refresh=REFRESH_SECONDS if task.status in ("pending", "running") else None,
        output=output[-OUTPUT_SHOWN:],
        output_cut=len(output) > OUTPUT_SHOWN,
        stream_url=url_for("web_tasks.live", task_id=task.id, after=output[-1].pk if output else 0) if active else None,
        creator=db.session.get(User, task.user_pk),
        share_links=share_links.of_task(user, task.id),
        share_days=share_links.DAYS,
        new_share_url=new_share_url,
    )


@bp.get("/tasks/<task_id>/live")
@login_required
def live(task_id):
    """The page's live stream (``hub.web.task_stream``): Server-Sent Events
    of the task's output and state until it finishes."""
    try:
        after = _cursor()
    except ValidationFailed as error:
        return jsonify(body(error.status, error.code, error.message, error.errors)), error.status
    user = signed_in_user()
    spaces.act_in_task_space(user, task_id)
    return task_stream.respond(user, task_id, after, lambda task: _parts(user, task))


def _cursor() -> int:
    """The last output chunk the page shows: the browser's Last-Event-ID
    when it reconnects, else ``after`` from the page."""
    for field, given in (("Last-Event-ID", request.headers.get("Last-Event-ID")), ("after", request.args.get("after"))):
        if given:
            if not (given.isascii() and given.isdigit() and int(given) <= MAX_SEQ):
                raise ValidationFailed(field, "Must be an output chunk's seq, a whole number.")
            return int(given)
    return 0


def _state(user: User, task: Task) -> dict:
    """What the page's live parts (task_summary.html, task_history.html) show."""
    return {
        "user": user,
        "task": task,
        "can_work": spaces.allows(user.role, "work"),  # a viewer sees no cancel or reply button
        "timeline": events.for_task(task),
        "no_worker": task.status == "pending" and workers.no_worker_for(task),
        "callback": callbacks.of_task(user, task) if task.callback_shown_url else None,
        "question": questions.question_of(task),
        "messages": conversations.history(task.conversation) if task.conversation else [],
    }


def _parts(user: User, task: Task) -> dict[str, str]:
    """The page's live parts, rendered again for the stream."""
    state = _state(user, task)
    return {
        "summary": render_template("task_summary.html", **state),
        "history": render_template("task_history.html", **state),
    }


@bp.post("/tasks/<task_id>/reply")
@login_required
def reply(task_id):
    """The owner answers the agent's question: the same task resumes."""
    csrf.protect()
    answer = request.form.get("message", "").strip()
    if not answer or len(answer) > questions.REPLY_MAX:
        flash(f"Write a reply of 1 to {questions.REPLY_MAX:,} characters.", "error")
        return redirect(url_for(".task_page", task_id=task_id))
    try:
        user = signed_in_user()
        spaces.act_in_task_space(user, task_id)  # not the user's space's task: 404
        questions.reply(user, task_id, answer)
    except Conflict as error:  # answered or cancelled meanwhile
        flash(error.message, "error")
    else:
        flash("Reply sent; the agent carries on.", "ok")
    return redirect(url_for(".task_page", task_id=task_id))


@bp.post("/tasks/<task_id>/cancel")
@login_required
def cancel(task_id):
    csrf.protect()
    try:
        user = signed_in_user()
        spaces.act_in_task_space(user, task_id)  # the API's rule: another space's task is a 404
        tasks.cancel_task(user, task_id)
    except Conflict as error:  # it finished meanwhile
        flash(error.message, "error")
    else:
        flash("Task cancelled.", "ok")
    return redirect(url_for(".task_page", task_id=task_id))


@bp.get("/help/workers")
def workers_help():
    """Where the task page's "waiting for an agent worker" links: how to attach one."""
    return render_template("workers_help.html", user=current_web_user(), base_url=current_app.config["HUB_BASE_URL"])
