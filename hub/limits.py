"""Request limits on Redis (flask-limiter): per-IP limits on the endpoints
that take no credentials, per-IP limits on failed bearer authentication,
and per-user tier limits on every authenticated route.

``limiter`` is the one place limits are *declared* (at import time, as
decorators). Each app gets its own flask-limiter instance for *runtime*
state (storage, strategy, switches), sharing those declarations: a
flask-limiter instance otherwise keeps the last app's Redis and the first
app's settings, which breaks a process that builds several apps (tests).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from functools import lru_cache, wraps
from typing import Any, NamedTuple, NoReturn

from flask import Flask, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse_many
from limits.storage import RedisClusterStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from hub import tiers
from hub.errors import body
from hub.logs import Fault
from hub.moving_window import BatchedMovingWindow

log = logging.getLogger(__name__)

TIER_SCOPE = "tier"
AUTH_FAILURE_SCOPE = "auth-failures"
STORAGE_OPTIONS: dict[str, Any] = {
    # Redis down: fail fast (one immediate retry for a connection dropped by a
    # Redis restart, no backoff), serve the request, log a warning.
    "socket_connect_timeout": 0.5,
    "socket_timeout": 0.5,
    "retry": Retry(NoBackoff(), 1),
}
# Redis down is an expected, documented state (limits fail open): a line when
# it starts, a summary every 30 s, a line when Redis answers again.
REDIS_DOWN = Fault(log, "rate limits not enforced while Redis is unreachable")


def _failed_open(error: BaseException, detail: str) -> None:
    """A limit not applied because of ``error``: an outage goes to
    REDIS_DOWN; anything else is a bug and keeps its traceback."""
    if isinstance(error, (RedisError, OSError)):  # OSError: TimeoutError from hub/moving_window.py too
        REDIS_DOWN.happened(detail, error)
    else:
        log.error("%s", detail, exc_info=error)


class _FailOpenFilter(logging.Filter):
    """flask-limiter logs every storage error it swallows (its own limits,
    per address) with a traceback, on every request: route an outage to
    REDIS_DOWN, let anything else through."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, (RedisError, OSError)):
            return True
        _failed_open(error, record.getMessage())
        return False


class _Runtime(Limiter):
    def _check_request_limit(self, callable_name=None, in_middleware=True):
        """flask-limiter checks every request twice: in before_request (for
        default, application and blueprint limits) and in the decorator of
        a limited view. The hub declares only decorated limits, so the
        first pass finds nothing, at a cost worth skipping while there is
        nothing for it (bench/README.md, "Profiling")."""
        manager = self.limit_manager
        if in_middleware and not (
            manager._application_limits or manager._default_limits or manager._blueprint_limits or self._meta_limits
        ):
            return
        super()._check_request_limit(callable_name, in_middleware)


class HubLimiter(Limiter):
    """Holds the declared limits; runtime calls go to the current app's limiter."""

    def init_app(self, app: Flask) -> None:
        runtime = _Runtime(self._key_func, storage_options=dict(STORAGE_OPTIONS))
        # Share the declarations (decorated limits, exemptions), not the state.
        runtime.limit_manager = self.limit_manager
        runtime._marked_for_limiting = self._marked_for_limiting
        runtime._request_filters = self._request_filters
        if not any(isinstance(f, _FailOpenFilter) for f in runtime.logger.filters):
            runtime.logger.addFilter(_FailOpenFilter())  # the one "flask-limiter" logger of every instance
        runtime.init_app(app)
        # Not on a Redis Cluster: one script call covers many users' keys (CROSSSLOT there).
        if (
            isinstance(runtime._limiter, MovingWindowRateLimiter)
            and isinstance(runtime.storage, RedisStorage)
            and not isinstance(runtime.storage, RedisClusterStorage)
        ):
            runtime._limiter = BatchedMovingWindow(runtime.storage, REDIS_DOWN)
        app.extensions["hub_limiter"] = runtime

    @staticmethod
    def runtime() -> Limiter:
        return current_app.extensions["hub_limiter"]

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        return self.runtime()._check_request_limit(callable_name, in_middleware)

    @property
    def storage(self):
        return self.runtime().storage

    @property
    def limiter(self):
        return self.runtime().limiter

    @property
    def current_limit(self):
        return self.runtime().current_limit


def client_address() -> str:
    """The client's IP, for per-address limits and logs: the peer's, or, when
    the peer is one of HUB_TRUSTED_PROXIES, the last address in
    X-Forwarded-For that is not a trusted proxy (each proxy appends the
    peer it saw). Anyone else's X-Forwarded-For is ignored: a client could
    name a new address on every request and never be limited."""
    peer = request.remote_addr or ""
    trusted = current_app.config.get("HUB_TRUSTED_PROXIES") or ()
    if not trusted or not _among(peer, trusted):
        return peer
    hops = [hop.strip() for hop in ",".join(request.headers.getlist("X-Forwarded-For")).split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _among(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _among(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


limiter = HubLimiter(client_address)


class _Breach(NamedTuple):
    """What RateLimitExceeded and ``_rate_limited`` read of a refused limit
    (flask-limiter's RuntimeLimit, which is private)."""

    limit: RateLimitItem
    scope: str = TIER_SCOPE
    error_message: None = None


def _refuse(item: RateLimitItem, scope: str) -> NoReturn:
    # RateLimitExceeded is typed for RuntimeLimit; it reads .limit and .error_message
    # (tests/test_dependency_internals.py checks that it reads no more).
    raise RateLimitExceeded(_Breach(item, scope))  # type: ignore[arg-type]


@lru_cache(maxsize=64)
def _parsed(limit: str) -> tuple[RateLimitItem, ...]:
    """Shortest window first (limits' own order compares only the unit: 5/120second before 10/minute)."""
    return tuple(sorted(parse_many(limit), key=lambda item: item.get_expiry()))


def tier_limit(view):
    """One bucket per user across every authenticated route, applied by
    ``Blueprint.auth`` after the caller is known.

    flask-limiter's runtime, storage and key layout, with the hub's moving
    window strategy (hub/moving_window.py), but not its decorator: its
    dynamic form (``limiter.shared_limit(callable, key_func=...,
    exempt_when=...)``) resolves every declared limit, exemption and hint on
    each request, which the limiter benchmark cannot afford (bench/README.md,
    "The tier limit: flask-limiter's decorator or the hub's")."""

    @wraps(view)
    def limited(*args, **kwargs):
        _check_tier_limit()
        return current_app.ensure_sync(view)(*args, **kwargs)

    return limited


def _check_tier_limit() -> None:
    runtime, user = HubLimiter.runtime(), g.principal.user
    # Agent workers are the hub's own infrastructure, not a user's traffic;
    # admins and unlimited tiers have no rate limit (hub.tiers).
    rate = tiers.allowance(user).rate_limit if user is not None and runtime.enabled else None
    if not rate:
        return
    try:
        item, window, refused = _acquire(
            runtime.limiter, _parsed(rate), _key(runtime, f"space:{user.space_pk}", TIER_SCOPE)
        )
    except Exception as error:
        if not runtime._swallow_errors:
            raise
        _failed_open(error, "request served without its tier limit")
        return
    g.hub_applied_limit = item, window, refused  # for _headers
    if refused:
        _refuse(item, TIER_SCOPE)


def _key(runtime: Limiter, key: str, scope: str) -> list[str]:
    """The identifiers flask-limiter gives its strategy for a limit of
    ``scope`` on ``key``: the same keys in the same storage."""
    return [runtime._key_prefix, key, scope] if runtime._key_prefix else [key, scope]


def check_auth_failures() -> None:
    """Before a bearer credential is looked up: refuse an address past
    HUB_AUTH_FAILURE_RATE_LIMIT failed authentications (429), whatever it
    sends now, so guessing stops there. One Redis read; the caller skips it
    for a credential its process already holds as valid (principal cache)."""
    _auth_failures(count=False)


def count_auth_failure() -> None:
    """A bearer credential proved unknown, revoked, expired or disabled."""
    _auth_failures(count=True)


def _auth_failures(count: bool) -> None:
    runtime = HubLimiter.runtime()
    if not runtime.enabled:
        return
    strategy, items = runtime.limiter, _parsed(current_app.config["HUB_AUTH_FAILURE_RATE_LIMIT"])
    args = _key(runtime, client_address(), AUTH_FAILURE_SCOPE)
    try:
        for item in items:
            if count:
                strategy.hit(item, *args)
            elif not strategy.test(item, *args):
                g.hub_applied_limit = item, strategy.get_window_stats(item, *args), True  # for _headers
                _refuse(item, AUTH_FAILURE_SCOPE)
    except RateLimitExceeded:
        raise
    except Exception as error:
        if not runtime._swallow_errors:
            raise
        _failed_open(error, "failed authentications not counted")
    else:
        REDIS_DOWN.cleared()


def _acquire(strategy, items: tuple[RateLimitItem, ...], args: list[str]) -> tuple[RateLimitItem, WindowStats, bool]:
    """Hit each limit, shortest window first, until one refuses. The limit
    to report (the refusing one, else the first), its window, and whether
    it refused."""
    if isinstance(strategy, BatchedMovingWindow):
        return strategy.acquire(items, *args)  # clears REDIS_DOWN when it reaches Redis
    refused = next((item for item in items if not strategy.hit(item, *args)), None)
    item = refused or items[0]
    window = strategy.get_window_stats(item, *args)
    REDIS_DOWN.cleared()
    return item, window, refused is not None


def storage_uri(redis_url: str) -> str:
    """flask-limiter (the ``limits`` package) spells Redis sockets its own way."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.config["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # Each strategy keeps differently-typed keys: a prefix per strategy stops
    # WRONGTYPE errors when the strategy changes under live keys.
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "hub-limit-" + app.config["RATELIMIT_STRATEGY"])
    # The hub writes the headers itself (_headers): flask-limiter's writer
    # rescans the response's headers several times per request.
    app.config["RATELIMIT_HEADERS_ENABLED"] = False
    # Redis down: serve the request (fail open) and log a warning.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.after_request(_headers)  # runs after flask-limiter's own (registered next): deductions first
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _rate_limited)


def _rate_limited(error: RateLimitExceeded):
    item = error.limit.limit
    window = item.get_expiry()
    extra: dict[str, Any] = {"limit": item.amount, "window_seconds": window}
    if error.limit.scope == TIER_SCOPE:
        extra["tier"] = g.principal.user.working_tier
        message = f"Rate limit of the {extra['tier']} tier reached: {item.amount} requests per {window} s."
    elif error.limit.scope == AUTH_FAILURE_SCOPE:
        message = f"Too many failed authentications from this address: {item.amount} per {window} s."
    elif error.limit.error_message:  # a limit that says what it counts (hub/web/sign_in_limits.py)
        message = f"{error.description}: {item.amount} per {window} s."
    else:
        message = f"Too many attempts: {item.amount} per {window} s from this address."
    return body(429, "rate_limited", message + " Retry after the time in Retry-After.", **extra), 429


def _headers(response):
    """The limit that applied to this request, in flask-limiter's
    ``X-RateLimit-*`` headers (reset as a timestamp) and the IETF
    ``RateLimit-*`` set (reset in seconds). ``Retry-After`` on a 429 of the
    limit; another 4xx's own ``Retry-After`` (e.g. ``concurrency_limit``'s
    30 s) stands, unless the window has no request left: then it is raised
    to the window's reset, as a retry sooner would be refused."""
    applied = g.get("hub_applied_limit")
    if applied is None:  # not ours (tier, failed authentication): flask-limiter's own
        current = current_app.extensions["hub_limiter"].current_limit
        if current is None:  # no limit applied, or Redis unreachable (fail open)
            return response
        try:
            applied = current.limit, current.window, current.breached  # window kept from the hit
        except Exception as error:
            _failed_open(error, "rate limit headers left out")
            return response
    item, (window_reset, remaining), refused = applied
    now = int(time.time())
    reset_at = int(window_reset + 1)  # rounded up, as flask-limiter does
    reset_in = min(item.get_expiry(), max(0, reset_at - now))  # never more than the window
    amount = str(item.amount)
    headers = response.headers
    headers.extend(
        [
            ("X-RateLimit-Limit", amount),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(reset_at)),
            ("RateLimit-Limit", amount),
            ("RateLimit-Remaining", str(remaining)),
            ("RateLimit-Reset", str(reset_in)),
        ]
    )
    if response.status_code == 429 and refused:
        headers["Retry-After"] = str(max(1, reset_in))
    elif response.status_code >= 400 and remaining == 0 and str(headers.get("Retry-After", "")).isdigit():
        headers["Retry-After"] = str(max(int(headers["Retry-After"]), reset_in))
    return response
