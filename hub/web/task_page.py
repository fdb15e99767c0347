"""The page behind each task's ``url``: what a person lands on from the link
Zapier posts into Slack or a GitHub comment."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from hub.errors import Conflict
from hub.services import callbacks, events, questions, tasks, workers
from hub.web import csrf
from hub.web.guard import html_errors, signed_in_user
from hub.web.session import current_web_user, login_required

bp = Blueprint("web_tasks", __name__)
html_errors(bp)

# While a task may still change, the page reloads itself this often (seconds).
REFRESH_SECONDS = 3


@bp.get("/tasks/<task_id>")
@login_required
def task_page(task_id):
    user = signed_in_user()
    task = tasks.get_task(user, task_id)  # another user's task: 404
    live = task.status in ("pending", "running")
    return render_template(
        "task.html",
        user=user,
        task=task,
        timeline=events.for_task(task),
        refresh=REFRESH_SECONDS if live else None,
        no_worker=task.status == "pending" and workers.no_worker_for(task),
        callback=callbacks.of_task(user, task) if task.callback_shown_url else None,
        question=questions.question_of(task),
    )


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
        questions.reply(signed_in_user(), task_id, answer)  # another user's task: 404
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
        tasks.cancel_task(signed_in_user(), task_id)  # the API's rule: another user's task is a 404
    except Conflict as error:  # it finished meanwhile
        flash(error.message, "error")
    else:
        flash("Task cancelled.", "ok")
    return redirect(url_for(".task_page", task_id=task_id))


@bp.get("/help/workers")
def workers_help():
    """Where the task page's "waiting for an agent worker" links: how to attach one."""
    return render_template("workers_help.html", user=current_web_user(), base_url=current_app.config["HUB_BASE_URL"])
