"""Project-wide flask-smorest defaults: one Api, one Blueprint subclass."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow import resolver as schema_name
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import current_app, request
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from webargs.flaskparser import FlaskParser

from hub import errors, idempotency
from hub.api.input_guard import has_body, send_json
from hub.auth import WORKER_SCOPE, Requirement, needed_scopes, require_scope
from hub.auth.bearer import authenticate
from hub.db import begin_read
from hub.limits import tier_limit
from hub.schemas import Page

_sharing = threading.RLock()
_sharing_depth = 0


def _same(schema: ma.Schema, memo: dict[int, Any]) -> ma.Schema:
    return schema


@contextmanager
def schemas_shared() -> Iterator[None]:
    """While an app's routes are built and registered, a deep copy of a
    marshmallow schema is the schema itself. flask-smorest deep-copies each
    view's OpenAPI notes at each of its decorators and again for every app a
    blueprint joins; the schema instances in them are only read there
    (apispec names them), and copying them was most of what building an app
    cost (/openapi.json is the same either way; tests/api/test_contract.py).
    One thread at a time, re-entrant; every other deep copy is untouched."""
    global _sharing_depth
    with _sharing:
        if _sharing_depth == 0:
            assert "__deepcopy__" not in vars(ma.Schema), "marshmallow now copies schemas itself: revisit"
            ma.Schema.__deepcopy__ = _same  # type: ignore[attr-defined]
        _sharing_depth += 1
        try:
            yield
        finally:
            _sharing_depth -= 1
            if _sharing_depth == 0:
                del ma.Schema.__deepcopy__  # type: ignore[attr-defined]


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Machine-readable error code"})
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, for people"})
    errors = ma.fields.Dict(metadata={"description": "Bad input: field name -> messages"})


class LimitErrorSchema(ErrorSchema):
    limit = ma.fields.Integer(metadata={"description": "The limit that was reached"})
    window_seconds = ma.fields.Integer(metadata={"description": "`rate_limited`: the window of the limit"})
    tier = ma.fields.String(metadata={"description": "`rate_limited`: the caller's tier"})


def _header(description: str) -> dict:
    return {"description": description, "schema": {"type": "integer"}}


RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": _header("Requests allowed per window for the caller's tier (also as `X-RateLimit-Limit`)"),
    "RateLimit-Remaining": _header("Requests left in the window (also as `X-RateLimit-Remaining`)"),
    "RateLimit-Reset": _header("Seconds until a request is allowed again (`X-RateLimit-Reset`: as a Unix time)"),
}
RETRY_AFTER = {"Retry-After": _header("Seconds to wait before retrying")}
LINK = {"Link": {"description": '`<url>; rel="next"` when another page follows', "schema": {"type": "string"}}}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
    "description": "Makes the create safe to retry: the same key with the same body answers the first "
    "response again (with `Idempotent-Replayed: true`) and creates nothing more. Kept 24 h, per user.",
}


class Api(_Api):
    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: Any = None, **kwargs: Any) -> None:
        self._schema_prefix = ""
        kwargs["spec_kwargs"] = {
            "marshmallow_plugin": MarshmallowPlugin(self._schema_name),
            **kwargs.get("spec_kwargs", {}),
        }
        super().__init__(app, **kwargs)

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        with schemas_shared():
            super().register_blueprint(blp, parameters=parameters, **options)

    @contextmanager
    def schema_names_prefixed(self, prefix: str) -> Iterator[None]:
        """While a connector mounts, the schemas its routes bring to
        /openapi.json are named ``<prefix><Name>`` (``ZapierTaskOutput``):
        two connectors' ``TaskOutput`` classes must not clash. The hub's and
        the connector kit's own schemas (hub.*, connectors.base.*), shared by
        all, keep their names."""
        self._schema_prefix = prefix
        try:
            with schemas_shared():  # the connector builds its blueprint here
                yield
        finally:
            self._schema_prefix = ""

    def _schema_name(self, schema: Any) -> str:
        name: str = schema_name(schema)
        resolved = resolve_schema_cls(schema)
        module = (resolved[0] if isinstance(resolved, list) else resolved).__module__
        shared = module.startswith(("hub.", "connectors.base."))
        if self._schema_prefix and not shared and not name.startswith(self._schema_prefix):
            return self._schema_prefix + name
        return name

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


class Parser(FlaskParser):
    """Reads a JSON body from the request, where the input guard parsed and
    checked it; a JSON route sent another kind of body answers 415."""

    def load_json(self, req, schema):
        if req.is_json:
            return req.get_json() if has_body(req) else ma.missing
        if has_body(req) or any(field.required for field in schema.fields.values()):
            raise send_json(req)
        return ma.missing  # an optional body left out


class Blueprint(_Blueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable[[Any], Any]:
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return decorator

        def documented(view):
            view = decorator(view)
            view = self.alt_response(
                400,
                schema=ErrorSchema,
                description="`invalid_json`: the body is not valid JSON (the message says where), or nests too deep",
            )(view)
            return self.alt_response(
                415,
                schema=ErrorSchema,
                description="`unsupported_media_type`: the body was not sent as `Content-Type: application/json`",
            )(view)

        return documented

    def auth(self, scope: Requirement = None, *, first_party: bool = False):
        """Authenticate the caller, require ``scope`` (a tuple: any one of
        them), then apply the caller's tier rate limit (outermost decorator,
        so 401/403 come before input validation, and every authenticated
        route counts against the tier). ``first_party``: API keys only."""

        def decorator(view):
            limited = tier_limit(view)

            @wraps(view)
            def wrapper(*args, **kwargs):
                if request.method in ("GET", "HEAD"):
                    begin_read()
                require_scope(authenticate(), scope, first_party=first_party)
                return limited(*args, **kwargs)

            vars(wrapper).update(required_scope=scope, first_party=first_party)  # what the view requires, for tests
            needed = needed_scopes(scope)
            security: list[dict[str, list[str]]]
            if scope == WORKER_SCOPE:
                security, refused = [{"workerToken": []}], "Not a worker token"
            else:
                security = [{"bearerAuth": [s]} for s in needed] or [{"bearerAuth": []}]
                refused = (
                    f"The credentials lack the {' or '.join(f'`{s}`' for s in needed)} scope"
                    if needed
                    else "A worker token, not a user's credential"
                )
                if first_party:
                    refused += "; or an app's OAuth access token (only API keys may)"
            wrapper = self.doc(security=security)(wrapper)
            wrapper = self.alt_response(401, schema=ErrorSchema, description="Missing, expired or revoked credentials")(
                wrapper
            )
            wrapper = self.alt_response(403, schema=ErrorSchema, description=refused)(wrapper)
            wrapper = self.alt_response(
                429,
                schema=LimitErrorSchema,
                headers={**RATE_LIMIT_HEADERS, **RETRY_AFTER},
                description="`rate_limited`: the tier's request limit was reached "
                "(`concurrency_limit` on creates: too many unfinished tasks)",
            )(wrapper)
            return wrapper

        return decorator

    def idempotent(self, view):
        """Honour an ``Idempotency-Key`` header on a create (place right
        under ``auth``); see ``hub.idempotency``."""
        wrapper = idempotency.idempotent(view)
        wrapper = self.doc(parameters=[IDEMPOTENCY_KEY])(wrapper)
        wrapper = self.alt_response(
            409,
            schema=ErrorSchema,
            description="`idempotency_in_flight`: a request with this Idempotency-Key is still running; retry later",
        )(wrapper)
        return wrapper

    def paged(
        self, query: ma.Schema, items: ma.Schema, *, headers: dict[str, Any] | None = None
    ) -> Callable[[Callable[..., Any]], Any]:
        """A paged list: reads ``query`` (``hub.schemas.PageArgs`` or a schema
        built on it) from the query string, and answers the ``Page`` the view
        returns as a bare array, with ``Link: <next page>; rel="next"`` while
        another page follows. The view gets its own copy of the arguments and
        may return ``(page, more_headers)``, documented in ``headers``."""

        def decorator(view):
            @wraps(view)
            def wrapper(*args, **kwargs):
                validated = args[-1]  # flask-smorest appends the arguments
                answer = view(*args[:-1], dict(validated), **kwargs)
                page, extra = (answer, {}) if isinstance(answer, Page) else answer
                if page.more:
                    extra = {**extra, "Link": f'<{next_page_url(query, validated)}>; rel="next"'}
                return page.items, 200, extra

            wrapper = self.response(200, items, headers={**LINK, **(headers or {})})(wrapper)
            return self.arguments(query, location="query")(wrapper)

        return decorator


def next_page_url(query: ma.Schema, args: Mapping[str, Any]) -> str:
    """The next page's public URL, re-encoded from the validated arguments:
    the raw query string could add link values or name another host. Flags
    read ``true``; arguments left at none or off are left out."""
    values = query.dump({name: value for name, value in args.items() if name != "page"})
    values = {
        name: "true" if value is True else value
        for name, value in values.items()
        if value is not None and value is not False
    }
    values["page"] = args["page"] + 1
    return f"{current_app.config['HUB_BASE_URL']}{quote(request.path)}?{urlencode(values)}"
