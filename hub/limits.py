"""Request limits on Redis (flask-limiter).

This module owns the one Limiter. Unauthenticated endpoints (sign-in,
token) are limited per client IP with ``limiter.limit(..., key_func=
get_remote_address)``; tier limits per user build on the same instance.
"""
from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(get_remote_address)


def storage_uri(redis_url: str) -> str:
    """flask-limiter (the ``limits`` package) spells Redis sockets its own way."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.config["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # Each strategy keeps differently-typed keys: a prefix per strategy stops
    # WRONGTYPE errors when the strategy changes under live keys.
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "hub-limit-" + app.config["RATELIMIT_STRATEGY"])
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis down: serve the request (fail open); flask-limiter logs a warning.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
