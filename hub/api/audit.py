"""The audit log of the space a credential acts in."""

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.schemas import PageArgs, UTCDateTime
from hub.services import audit

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="The audit log of a space")


class AuditEntrySchema(ma.Schema):
    id = fields.String()
    at = UTCDateTime()
    actor = fields.String(allow_none=True, metadata={"description": "The username then; null: the CLI or the hub"})
    credential = fields.String(
        allow_none=True,
        metadata={"description": "What the change was made with: `api_key:key_…`, `oauth:…`, `web`, `cli`, `sso`"},
    )
    action = fields.String(metadata={"description": "`<object>.<verb>`, e.g. `member.added`, `api_key.revoked`"})
    target = fields.String(allow_none=True, metadata={"description": "What it was done to (an id or a username)"})
    detail = fields.Dict(allow_none=True, metadata={"description": "More about the change; never a secret"})


@blp.route("/audit")
class AuditLog(MethodView):
    @blp.auth("orgs:read")
    @blp.paged(PageArgs(), AuditEntrySchema(many=True))
    @blp.alt_response(422, schema=ErrorSchema)
    def get(self, args):
        """The audit log of the space this credential acts in, newest first:
        who changed its members, roles, keys, worker tokens, connected apps,
        webhooks or tier, when, and with which credential. Its admins and
        owners only (403 `insufficient_role`)."""
        user = current_user()
        return audit.entries(user, user.space_pk, **args)
