"""Share links on the task page (make one, revoke one) and the read-only
page a link opens without signing in (``hub.services.share_links``)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hub.errors import ValidationFailed
from hub.services import share_links, spaces
from hub.web import csrf, task_page
from hub.web.guard import html_errors, signed_in_user
from hub.web.session import login_required

bp = Blueprint("web_share", __name__)
html_errors(bp)


@bp.post("/tasks/<task_id>/share-links")
@login_required
def create(task_id):
    """A new link, shown once on the task page this answers with."""
    csrf.protect()
    user = signed_in_user()
    spaces.act_in_task_space(user, task_id)  # not a member of the task's space: 404
    try:
        days = int(request.form.get("days", share_links.DEFAULT_DAYS))
    except ValueError:
        days = 0  # refused below, naming the field
    try:
        _, plain = share_links.create(user, task_id, days)
    except ValidationFailed as error:
        flash(error.message, "error")
        return redirect(url_for("web_tasks.task_page", task_id=task_id))
    return task_page.task_page(task_id, new_share_url=share_links.url_of(plain))


@bp.post("/tasks/<task_id>/share-links/<link_id>/revoke")
@login_required
def revoke(task_id, link_id):
    csrf.protect()
    user = signed_in_user()
    spaces.act_in_task_space(user, task_id)
    share_links.revoke(user, task_id, link_id)
    flash("Share link revoked: it no longer opens the task.", "ok")
    return redirect(url_for("web_tasks.task_page", task_id=task_id) + "#share-links")


@bp.get("/share/<token>")
def shared(token):
    """The task a link shares, read-only, for anyone holding it. Unknown,
    expired and revoked tokens get the same 404 page."""
    task = share_links.shared_task(token)
    return render_template(
        "shared_task.html",
        user=None,  # the page shows the link's task, never who is signed in here
        task=task,
        messages=share_links.messages_of(task),
    )


@bp.after_request
def _noindex(response):
    """A shared task (or the 404 a dead link gets) is for the link's holder, not for search engines."""
    if request.path.startswith("/share/"):
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
