"""Worker tokens of the credential's space: its admins create, list and
revoke them (``hub.services.workers``). A token claims only that space's tasks.

Scopes: ``codebases:write`` to create or revoke, ``codebases:read`` to list
(a GET never needs a write scope). A worker token reads every prompt of its
space, so minting one takes the scope of setting up where agents work, which
the Zapier app never asks for; the role (admin or owner of the space) is
checked on top, as everywhere.
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields
from marshmallow.utils import get_value

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.schemas import RequiredText, UTCDateTime
from hub.services import workers

blp = Blueprint(
    "worker_tokens",
    __name__,
    url_prefix="/api/v1",
    description="Worker tokens (`ctw_…`) of the credential's space, for its admins",
)


class WorkerTokenCreateSchema(ma.Schema):
    name = RequiredText(max_length=200, metadata={"description": "What runs with it, e.g. the build box"})


class WorkerTokenSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    prefix = fields.String(metadata={"description": "The token's first characters, to recognise it"})
    created_at = UTCDateTime()
    last_used_at = UTCDateTime(allow_none=True)
    revoked = fields.Function(lambda token: get_value(token, "revoked_at") is not None, metadata={"type": "boolean"})


class NewWorkerTokenSchema(WorkerTokenSchema):
    token = fields.String(metadata={"description": "The token itself, shown this once (only its hash is kept)"})


@blp.route("/worker-tokens")
class WorkerTokens(MethodView):
    @blp.auth("codebases:read")
    @blp.response(200, WorkerTokenSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="`insufficient_role`: not an admin of the space")
    def get(self):
        """The space's worker tokens, oldest first (revoked ones too)."""
        return workers.list_tokens(current_user())

    @blp.auth("codebases:write")
    @blp.arguments(WorkerTokenCreateSchema())
    @blp.response(201, NewWorkerTokenSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="`insufficient_role`: not an admin of the space")
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Create a worker token for the space: its workers claim only this space's tasks."""
        token, plain = workers.create_space_token(current_user(), args["name"])
        shown = ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at")
        return {"token": plain, **{name: getattr(token, name) for name in shown}}


@blp.route("/worker-tokens/<token_id>")
class WorkerTokenById(MethodView):
    @blp.auth("codebases:write")
    @blp.response(200, WorkerTokenSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="`insufficient_role`: not an admin of the space")
    @blp.alt_response(404, schema=ErrorSchema)
    def delete(self, token_id):
        """Revoke a worker token: its workers are refused (401) from their next call."""
        return workers.revoke_space_token(current_user(), token_id)
