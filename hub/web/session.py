"""Who is signed in on the web pages (sign-in, consent, dashboard).

The signed-in user lives in Flask's signed session cookie, with the user's
session generation at sign-in and the time of sign-in. A session counts only
while the generation still matches (sign-out, a password change or disabling
the user bumps it: ``accounts.end_sessions``), the user is not disabled, and
it is younger than PERMANENT_SESSION_LIFETIME. Web pages use these helpers;
the JSON API uses bearer tokens instead (``hub.auth``).
"""

from __future__ import annotations

import time
import unicodedata
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from sqlalchemy import select

from hub.db import db
from hub.errors import NotFound
from hub.models import User
from hub.services import accounts, spaces


def current_web_user() -> User | None:
    if "web_user" not in g:
        g.web_user = _session_user()
    return g.web_user


def _session_user() -> User | None:
    pk = session.get("user_pk")
    if not pk:
        return None
    user = db.session.scalar(select(User).where(User.pk == pk))
    age = time.time() - session.get("signed_in_at", 0)
    if (
        user is None
        or user.disabled_at is not None
        or session.get("generation") != user.session_generation
        or age > current_app.permanent_session_lifetime.total_seconds()
    ):
        session.clear()  # ended elsewhere, or too old: the browser gets a cleared cookie
        return None
    _enter_chosen_space(user)
    return user


def _enter_chosen_space(user: User) -> None:
    """Act in the space the dashboard's switcher chose (``choose_space``),
    while the user is still a member there; else in their personal space."""
    space_pk = session.get("space_pk")
    standing = spaces.standing(user, space_pk) if isinstance(space_pk, int) else None
    if standing is None or not isinstance(space_pk, int):
        session.pop("space_pk", None)
        spaces.act_in(user, user.personal_space_pk, spaces.Standing("owner", None), "web")
        return
    spaces.act_in(user, space_pk, standing, "web")


def choose_space(user: User, space_pk: int) -> None:
    """Work in another space of the user's from the next request on
    (NotFound: not a member there)."""
    standing = spaces.standing(user, space_pk)
    if standing is None:
        raise NotFound("No such space among yours.")
    session["space_pk"] = space_pk
    spaces.act_in(user, space_pk, standing)


def sign_in(user: User) -> None:
    # A fresh session on sign-in: no fixation of a session set up earlier.
    session.clear()
    session["user_pk"] = user.pk
    session["generation"] = user.session_generation
    session["signed_in_at"] = int(time.time())  # the lifetime counts from here, not from the last request
    session.permanent = True
    g.web_user = user


def sign_out() -> None:
    """End this session and every other session of the same user: a copied
    cookie must not outlive the sign-out."""
    user = current_web_user()
    if user is not None:
        accounts.end_sessions(user)
    session.clear()
    g.web_user = None


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this hub, else the dashboard.

    Browsers and Werkzeug drop tabs and newlines from a URL (``/\\t/evil``
    becomes ``//evil``, another host) and a newline cannot go in a header,
    so anything with a control character is refused before parsing.
    """
    fallback = url_for("web_dashboard.dashboard")
    if not target or "\\" in target or any(unicodedata.category(c) == "Cc" for c in target):
        return fallback
    parts = urlsplit(target)
    # "///host" parses as a path here but is another host to a browser.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_web_user() is None:
            return redirect(url_for("web_auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper
