"""Errors the hub raises on purpose, and how every error becomes JSON.

Every error body has the same shape: ``{"code", "status", "message"}`` plus
``errors`` (field -> messages) when input was bad.
"""

from __future__ import annotations

import logging

from flask import has_request_context, request
from werkzeug.exceptions import HTTPException

from hub.db import DATABASE_DOWN, unavailable
from hub.protected_resources import metadata_url, resource_for_path

log = logging.getLogger(__name__)

# Machine codes for werkzeug's own errors (unknown route, wrong method, ...).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class HubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: dict | None = None,
        headers: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


class NotFound(HubError):
    status = 404
    code = "not_found"


class Conflict(HubError):
    status = 409
    code = "conflict"


class ValidationFailed(HubError):
    status = 422
    code = "validation_error"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", errors={field: [message]})


class Unauthorized(HubError):
    status = 401
    code = "invalid_token"

    def __init__(self, message: str, error: str = "invalid_token"):
        header = 'Bearer realm="codetether-hub"'
        if error:
            header += f', error="{error}", error_description="{message}"'
        header += resource_metadata_parameter()
        super().__init__(message, code=error or "unauthorized", headers={"WWW-Authenticate": header})


def resource_metadata_parameter() -> str:
    """``, resource_metadata="<url>"`` (RFC 9728 §5.1) for the resource the
    request is for: how an MCP client finds the hub's authorization server
    from a 401 alone."""
    if not has_request_context():
        return ""
    return f', resource_metadata="{metadata_url(resource_for_path(request.path))}"'


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class TooManyRequests(HubError):
    status = 429
    code = "rate_limited"


class ServiceUnavailable(HubError):
    status = 503
    code = "service_unavailable"


# Seconds a client is asked to wait when the database is down or unwritable.
DATABASE_RETRY_AFTER = 5


class InvalidJSON(HubError):
    status = 400
    code = "invalid_json"


class PayloadTooLarge(HubError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(HubError):
    status = 415
    code = "unsupported_media_type"


def body(status: int, code: str, message: str, errors: dict | None = None, **extra) -> dict:
    payload = {"code": code, "status": status, "message": message}
    if errors:
        payload["errors"] = errors
    payload.update(extra)
    return payload


def flatten_field_errors(messages: dict) -> dict:
    """webargs nests errors by location ({"json": {"title": [...]}});
    callers want the field names. An object's errors by key (a task's
    ``metadata``) are named ``field.key``; a list's, by index, stay the
    field's."""
    flat: dict = {}
    for location, location_errors in messages.items():
        if isinstance(location_errors, dict):
            for field, errors in location_errors.items():
                if isinstance(errors, dict) and all(isinstance(part, str) for part in errors):
                    flat.update({f"{field}.{part}": part_errors for part, part_errors in errors.items()})
                else:
                    flat[field] = errors
            if location == "json" and "_schema" in flat:  # marshmallow's name for the whole input
                flat["body"] = flat.pop("_schema")
    return flat


def describe(errors: dict) -> str:
    parts = []
    for field, messages in errors.items():
        text = messages
        if isinstance(messages, list):
            text = " ".join(str(m) for m in messages)
        elif isinstance(messages, dict):
            text = "; ".join(f"{k}: {v}" for k, v in messages.items())
        parts.append(f"{field}: {text}")
    return "Invalid input. " + " ".join(parts)


def handle_hub_error(error: HubError):
    payload = body(error.status, error.code, error.message, error.errors, **error.extra)
    return payload, error.status, error.headers


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = None
    if "messages" in data:  # webargs validation failure
        errors = flatten_field_errors(data["messages"])
        message = describe(errors)
    else:
        message = error.description or error.name
    if status >= 500:
        log.error("unhandled error", exc_info=getattr(error, "original_exception", None))
        message = "Internal error; the request may be retried."
    headers = dict(data.get("headers") or {})
    if error.response is not None:  # e.g. 405's Allow header
        headers.update({k: v for k, v in error.get_headers() if k.lower() != "content-type"})
    return body(status, HTTP_CODES.get(status, "error"), message, errors), status, headers


def handle_database_error(error: Exception):
    """The database down, full or read-only is not a bug: 503 with
    Retry-After, logged once per outage. Nothing was committed (each change
    is one transaction), so a retry later is safe. Any other database error
    stays a 500."""
    if not unavailable(error):
        raise error
    DATABASE_DOWN.happened("requests answer 503", error)
    return handle_hub_error(
        ServiceUnavailable(
            "The database is unavailable; nothing was changed. Retry in a few seconds.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    )
