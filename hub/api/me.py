import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.schemas import UserSchema, UTCDateTime
from hub.services import oauth, spaces

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The signed-in account")


class SpaceSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"enum": ["personal", "org"]})


class ActingSpaceSchema(SpaceSchema):
    role = fields.String(metadata={"description": "The user's role there: owner, admin, member or viewer"})
    tier = fields.String(metadata={"description": "The tier that applies there: an organisation's, else the user's"})


class MeSchema(UserSchema):
    space = fields.Nested(ActingSpaceSchema, metadata={"description": "The space these credentials act in"})

    def get_attribute(self, obj, attr, default):
        if attr != "space":
            return super().get_attribute(obj, attr, default)
        space = spaces.get_space(obj.space_pk)
        return {"id": space.id, "name": space.name, "kind": space.kind, "role": obj.role, "tier": obj.working_tier}


@blp.route("/me")
class Me(MethodView):
    @blp.auth()
    @blp.response(200, MeSchema)
    def get(self):
        """Who the credentials belong to and the space they act in (Zapier's
        connection test and label)."""
        return current_user()


class GrantSchema(ma.Schema):
    id = fields.Function(
        lambda grant: grant.client_id, metadata={"type": "string", "description": "The app's OAuth client id"}
    )
    client_id = fields.String()
    name = fields.Function(lambda grant: grant.client.name, metadata={"type": "string"})
    scopes = fields.Function(lambda grant: grant.scope.split(), metadata={"type": "array", "items": {"type": "string"}})
    space = fields.Nested(SpaceSchema, metadata={"description": "The space the app acts in"})
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
        """Apps connected to this account with OAuth, in every space (newest first)."""
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
