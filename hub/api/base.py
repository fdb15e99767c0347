"""Project-wide flask-smorest defaults: one Api, one Blueprint subclass."""
from __future__ import annotations

from functools import wraps

import marshmallow as ma
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint

from hub import errors
from hub.auth import authenticate, require_scope


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Machine-readable error code"})
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, for people"})
    errors = ma.fields.Dict(metadata={"description": "Bad input: field name -> messages"})


class Api(_Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


class Blueprint(_Blueprint):
    def auth(self, scope: str | None = None):
        """Authenticate the caller and require ``scope`` (outermost decorator,
        so 401/403 come before input validation)."""

        def decorator(view):
            @wraps(view)
            def wrapper(*args, **kwargs):
                principal = authenticate()
                if scope:
                    require_scope(principal, scope)
                return view(*args, **kwargs)

            wrapper.required_scope = scope
            security = [{"bearerAuth": [scope] if scope else []}]
            wrapper = self.doc(security=security)(wrapper)
            wrapper = self.alt_response(401, schema=ErrorSchema, description="Missing, expired or revoked credentials")(wrapper)
            if scope:
                wrapper = self.alt_response(403, schema=ErrorSchema, description=f"The credentials lack the `{scope}` scope")(wrapper)
            return wrapper

        return decorator
