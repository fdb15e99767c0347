import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.schemas import UserSchema, UTCDateTime
from hub.services import oauth

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The signed-in account")


@blp.route("/me")
class Me(MethodView):
    @blp.auth()
    @blp.response(200, UserSchema)
    def get(self):
        """Who the credentials belong to (Zapier's connection test)."""
        return current_user()


class GrantSchema(ma.Schema):
    id = fields.Function(
        lambda grant: grant.client_id, metadata={"type": "string", "description": "The app's OAuth client id"}
    )
    client_id = fields.String()
    name = fields.Function(lambda grant: grant.client.name, metadata={"type": "string"})
    scopes = fields.Function(lambda grant: grant.scope.split(), metadata={"type": "array", "items": {"type": "string"}})
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class RevokedGrantSchema(ma.Schema):
    id = fields.String()
    revoked = fields.Boolean()


# Connected apps are managed by the person (API key, dashboard), never by an
# app: one app's token must not list or disconnect another app.
@blp.route("/me/grants")
class Grants(MethodView):
    @blp.auth(first_party=True)
    @blp.response(200, GrantSchema(many=True))
    def get(self):
        """Apps connected to this account with OAuth (newest first)."""
        return oauth.list_grants(current_user())


@blp.route("/me/grants/<client_id>")
class GrantById(MethodView):
    @blp.auth(first_party=True)
    @blp.response(200, RevokedGrantSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def delete(self, client_id):
        """Disconnect an app: its consent is forgotten, its tokens stop working
        and the hooks its tokens subscribed are deleted."""
        oauth.revoke_grant(current_user(), client_id)
        return {"id": client_id, "revoked": True}
