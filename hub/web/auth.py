"""``/login`` and ``/logout``: local accounts and the way to SSO."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from hub.limits import client_address, limiter
from hub.services import accounts
from hub.web import csrf
from hub.web.session import current_web_user, safe_next, sign_in, sign_out
from hub.web.sign_in_limits import per_account, per_known_device, remember_device
from hub.web.sso import sso_enabled

bp = Blueprint("web_auth", __name__)


def _failed(response) -> bool:
    return response.status_code >= 400


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["HUB_LOGIN_RATE_LIMIT"], key_func=client_address, methods=["POST"], deduct_when=_failed
)
@per_account
@per_known_device
def login():
    next_url = safe_next(request.values.get("next"))
    local = current_app.config["HUB_LOCAL_ACCOUNTS"]
    if request.method == "GET":
        # Already signed in: straight on to where the link was going.
        return redirect(next_url) if current_web_user() else _page(next_url)
    csrf.protect()
    if not local:
        return _page(next_url, error="Sign-in with a username and password is turned off; use SSO.", status=403)
    user = accounts.check_password(request.form.get("username", "").strip(), request.form.get("password", ""))
    if user is None:
        current_app.logger.info("failed sign-in from %s", client_address())
        return _page(
            next_url, error="Wrong username or password.", status=401, username=request.form.get("username", "")
        )
    sign_in(user)
    response = redirect(next_url)
    remember_device(response, user.username)
    return response


def _page(next_url: str, error: str | None = None, status: int = 200, username: str = ""):
    return render_template(
        "login.html",
        next_url=next_url,
        error=error,
        username=username,
        user=current_web_user(),
        local=current_app.config["HUB_LOCAL_ACCOUNTS"],
        sso=sso_enabled(),
    ), status


@bp.post("/logout")
def logout():
    csrf.protect()
    sign_out()
    return redirect(url_for("web_auth.login"))
