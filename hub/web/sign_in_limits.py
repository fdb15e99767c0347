"""How often one account's password may be tried at ``POST /login``.

Besides the per-address limit (HUB_LOGIN_RATE_LIMIT, failures per client IP):

- Per account: HUB_LOGIN_ACCOUNT_RATE_LIMIT (5 per 15 minutes) attempts at
  one username from browsers that never signed in to it. Every attempt is
  counted, before the password is checked, so parallel guesses cannot slip
  in between a check and its count; past the limit the answer is 429 with
  Retry-After, whatever the password, until the oldest attempt leaves the
  window. No number of addresses buys more guesses at one account.
- Known browsers: a browser that signed in to the account keeps a signed
  cookie (90 days) naming it and a random device id. It skips the account's
  count and has its own, of wrong passwords only. An attacker who keeps an
  account at its limit slows new browsers only: its owner signs in as usual.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app, g, request
from itsdangerous import BadData, URLSafeTimedSerializer

from hub.limits import limiter

COOKIE = "hub_known_device"
COOKIE_SECONDS = 90 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hub-known-device")


def _username() -> str:
    return request.form.get("username", "").strip()


def _known_device() -> str | None:
    """This browser's device id, if it signed in before to the account now tried."""
    if "hub_known_device" not in g:
        device = None
        try:
            data = _serializer().loads(request.cookies.get(COOKIE, ""), max_age=COOKIE_SECONDS)
        except BadData:
            data = None
        if isinstance(data, dict) and data.get("u") == _username() and isinstance(data.get("d"), str):
            device = data["d"]
        g.hub_known_device = device
    return g.hub_known_device


def _account_key() -> str:
    # Hashed: a username of any length or alphabet makes one bounded key.
    return "account:" + hashlib.sha256(_username().encode("utf-8", "surrogatepass")).hexdigest()


def _device_key() -> str:
    return f"device:{_known_device()}"


def _limit() -> str:
    return current_app.config["HUB_LOGIN_ACCOUNT_RATE_LIMIT"]


def _wrong_password(response) -> bool:
    return response.status_code == 401


per_account = limiter.limit(
    _limit,
    key_func=_account_key,
    methods=["POST"],
    scope="account",
    exempt_when=lambda: _known_device() is not None,
    error_message="Too many sign-in attempts at this account from browsers that never signed in to it",
)
per_known_device = limiter.limit(
    _limit,
    key_func=_device_key,
    methods=["POST"],
    scope="device",
    deduct_when=_wrong_password,
    exempt_when=lambda: _known_device() is None,
    error_message="Too many wrong passwords for this account from this browser",
)


def remember_device(response, username: str) -> None:
    """After a successful sign-in: this browser is known to the account from now on."""
    value = _serializer().dumps({"u": username, "d": _known_device() or secrets.token_urlsafe(16)})
    response.set_cookie(
        COOKIE,
        value,
        max_age=COOKIE_SECONDS,
        path=request.path,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["HUB_BASE_URL"].startswith("https://"),
    )
