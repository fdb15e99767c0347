"""The page behind each task's ``url``: what a person lands on from the link
Zapier posts into Slack or a GitHub comment."""
from __future__ import annotations

from flask import Blueprint, render_template

from hub.services import events, tasks
from hub.web.guard import html_errors
from hub.web.session import current_web_user, login_required

bp = Blueprint("web_tasks", __name__)
html_errors(bp)

# While a task may still change, the page reloads itself this often (seconds).
REFRESH_SECONDS = 3


@bp.get("/tasks/<task_id>")
@login_required
def task_page(task_id):
    user = current_web_user()
    task = tasks.get_task(user, task_id)  # another user's task: 404
    live = task.status in ("pending", "running")
    return render_template("task.html", user=user, task=task, timeline=events.for_task(task),
                           refresh=REFRESH_SECONDS if live else None)
