"""Who may see a page: a signed-in person, or a signed-in admin."""

from __future__ import annotations

from functools import wraps

from flask import render_template

from hub.errors import HubError
from hub.models import User
from hub.web.session import current_web_user, login_required


def signed_in_user() -> User:
    """The user of a page behind ``login_required`` (or ``admin_required``)."""
    user = current_web_user()
    if user is None:  # login_required sent everyone else to the sign-in page
        raise RuntimeError("a page without login_required asked for its signed-in user")
    return user


def admin_required(view):
    @login_required
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = signed_in_user()
        if not user.is_admin:
            return render_template("forbidden.html", user=user), 403
        return view(*args, **kwargs)

    return wrapper


def html_errors(bp) -> None:
    """Errors on pages are pages (a person reads them), not the API's JSON."""

    @bp.errorhandler(HubError)
    def _page(error):
        return render_template("error.html", user=current_web_user(), error=error), error.status
