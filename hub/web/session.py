"""Who is signed in on the web pages (sign-in, consent, dashboard).

The signed-in user lives in Flask's signed session cookie. Web pages use
these helpers; the JSON API uses bearer tokens instead (``hub.auth``).
"""
from __future__ import annotations

from functools import wraps

from flask import g, redirect, request, session, url_for
from sqlalchemy import select

from hub.db import db
from hub.models import User


def current_web_user() -> User | None:
    if "web_user" not in g:
        pk = session.get("user_pk")
        g.web_user = db.session.scalar(select(User).where(User.pk == pk)) if pk else None
    return g.web_user


def sign_in(user: User) -> None:
    # A fresh session on sign-in: no fixation of a session set up earlier.
    session.clear()
    session["user_pk"] = user.pk
    session.permanent = True
    g.web_user = user


def sign_out() -> None:
    session.clear()
    g.web_user = None


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect off-site after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_web_user() is None:
            return redirect(url_for("web_auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper
