"""Spaces and organisations: the caller's spaces, organisations, their
members and invitations. The rules are the service's (hub.services.orgs);
these routes translate HTTP."""

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from marshmallow import fields, validate

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.models.spaces import ROLES
from hub.schemas import OptionalStr, RequiredText, UTCDateTime, WholeNumber
from hub.services import orgs
from hub.tiers import TIERS

blp = Blueprint("orgs", __name__, url_prefix="/api/v1", description="Spaces, organisations and their members")

ROLE_HELP = "owner, admin, member or viewer"


class MembershipSpaceSchema(ma.Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "`personal` or `org`"})
    name = fields.String()
    slug = fields.String(allow_none=True, metadata={"description": "An organisation's; null for a personal space"})
    tier = fields.String(
        allow_none=True, metadata={"description": "An organisation's tier; null: a personal space follows its user's"}
    )
    role = fields.String(metadata={"description": "The caller's role there: " + ROLE_HELP})
    acting = fields.Boolean(metadata={"description": "Whether this credential acts in this space"})


class OrgSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    slug = fields.String()
    tier = fields.String()
    created_at = UTCDateTime()
    role = fields.String(metadata={"description": "The caller's role in it: " + ROLE_HELP})


class OrgCreateSchema(ma.Schema):
    name = RequiredText(max_length=200)
    slug = OptionalStr(
        validate=validate.Regexp(orgs.SLUG, error=orgs.SLUG_RULE),
        metadata={"description": "In URLs; unique. Default: made from the name. " + orgs.SLUG_RULE},
    )
    tier = fields.String(
        load_default="free",
        validate=validate.OneOf(TIERS),
        metadata={"description": "Up to the caller's own tier (a hub admin sets higher ones)"},
    )


class OrgChangeSchema(ma.Schema):
    tier = fields.String(required=True, validate=validate.OneOf(TIERS), metadata={"description": "Owners only"})


class MemberSchema(ma.Schema):
    username = fields.Function(lambda m: m.user.username, metadata={"type": "string"})
    name = fields.Function(lambda m: m.user.name, metadata={"type": "string", "nullable": True})
    role = fields.String()
    joined_at = UTCDateTime(attribute="created_at")


class MemberAddSchema(ma.Schema):
    username = RequiredText(max_length=150)
    role = fields.String(load_default="member", validate=validate.OneOf(ROLES), metadata={"description": ROLE_HELP})


class RoleSchema(ma.Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES), metadata={"description": ROLE_HELP})


class InvitationCreateSchema(ma.Schema):
    role = fields.String(load_default="member", validate=validate.OneOf(ROLES), metadata={"description": ROLE_HELP})
    username = OptionalStr(
        validate=validate.Length(max=150),
        metadata={"description": "Only this user may accept it; left out: anyone holding the link"},
    )
    days = WholeNumber(
        load_default=7,
        validate=validate.Range(min=1, max=orgs.MAX_INVITATION_DAYS),
        metadata={"description": "Days until it expires"},
    )


class InvitationSchema(ma.Schema):
    id = fields.String()
    role = fields.String()
    username = fields.String(allow_none=True)
    created_at = UTCDateTime()
    expires_at = UTCDateTime()


class InvitationCreatedSchema(InvitationSchema):
    token = fields.String(metadata={"description": "`cti_…`: shown only now; only its hash is stored"})
    url = fields.String(metadata={"description": "The page where a signed-in user accepts it"})


class AcceptSchema(ma.Schema):
    token = RequiredText(max_length=200)


class AcceptedSchema(ma.Schema):
    org = fields.Nested(OrgSchema)
    role = fields.String()


def _org(space, role: str) -> dict:
    return {
        "id": space.id,
        "name": space.name,
        "slug": space.slug,
        "tier": space.tier,
        "created_at": space.created_at,
        "role": role,
    }


def _shown(org: str) -> dict:
    user = current_user()
    return _org(orgs.get_org(user, org), orgs.role_in(user, org))


@blp.route("/spaces")
class Spaces(MethodView):
    @blp.auth("orgs:read")
    @blp.response(200, MembershipSpaceSchema(many=True))
    def get(self):
        """The caller's spaces with their role in each (personal first, then
        organisations by name), and which one this credential acts in."""
        user = current_user()
        return [
            {
                "id": space.id,
                "kind": space.kind,
                "name": space.name,
                "slug": space.slug,
                "tier": space.tier,
                "role": role,
                "acting": space.pk == user.space_pk,
            }
            for space, role in orgs.spaces_of(user)
        ]


@blp.route("/orgs")
class Orgs(MethodView):
    @blp.auth("orgs:write")
    @blp.arguments(OrgCreateSchema())
    @blp.response(201, OrgSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="`slug_taken`")
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Create an organisation; the caller is its owner. A credential acts
        in one space: make one for the new org to work there."""
        user = current_user()
        space = orgs.create_org(user, args["name"], slug=args["slug"], tier=args["tier"], actor=user)
        return _org(space, "owner")


@blp.route("/orgs/<org>")
class OrgById(MethodView):
    @blp.auth("orgs:read")
    @blp.response(200, OrgSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such organisation among the caller's")
    def get(self, org):
        """An organisation (by id or slug) and the caller's role in it."""
        return _shown(org)

    @blp.auth("orgs:write")
    @blp.arguments(OrgChangeSchema())
    @blp.response(200, OrgSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def patch(self, args, org):
        """Set the organisation's tier (owners; up to their own tier)."""
        orgs.set_tier(current_user(), org, args["tier"])
        return _shown(org)

    @blp.auth("orgs:write")
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema)
    def delete(self, org):
        """Delete the organisation (owners): its members lose it, and every
        credential made for it stops working."""
        orgs.delete_org(current_user(), org)
        return ""


@blp.route("/orgs/<org>/members")
class Members(MethodView):
    @blp.auth("orgs:read")
    @blp.response(200, MemberSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, org):
        """The members, strongest role first."""
        return orgs.members(current_user(), org)

    @blp.auth("orgs:write")
    @blp.arguments(MemberAddSchema())
    @blp.response(201, MemberSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="`already_member`")
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, org):
        """Add a user (admins; only an owner adds an owner)."""
        return orgs.add_member(current_user(), org, args["username"], args["role"])


@blp.route("/orgs/<org>/members/<username>")
class MemberByName(MethodView):
    @blp.auth("orgs:write")
    @blp.arguments(RoleSchema())
    @blp.response(200, MemberSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="`last_owner`: the organisation needs an owner")
    @blp.alt_response(422, schema=ErrorSchema)
    def patch(self, args, org, username):
        """Change a member's role (admins; only an owner makes or unmakes an owner)."""
        return orgs.set_role(current_user(), org, username, args["role"])

    @blp.auth("orgs:write")
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="`last_owner`: the organisation needs an owner")
    def delete(self, org, username):
        """Remove a member (admins; only an owner removes an owner); a member
        may remove themselves. Their credentials for the org stop working."""
        orgs.remove_member(current_user(), org, username)
        return ""


@blp.route("/orgs/<org>/invitations")
class Invitations(MethodView):
    @blp.auth("orgs:read")
    @blp.response(200, InvitationSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, org):
        """Pending invitations, newest first (admins)."""
        return orgs.invitations(current_user(), org)

    @blp.auth("orgs:write")
    @blp.arguments(InvitationCreateSchema())
    @blp.response(201, InvitationCreatedSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="`already_member`")
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, org):
        """Invite by link (anyone holding it) or one user by name (admins;
        only an owner invites an owner). The token is shown only now."""
        invitation, token = orgs.invite(current_user(), org, args["role"], username=args["username"], days=args["days"])
        return {
            "id": invitation.id,
            "role": invitation.role,
            "username": invitation.username,
            "created_at": invitation.created_at,
            "expires_at": invitation.expires_at,
            "token": token,
            "url": f"{current_app.config['HUB_BASE_URL']}/invitations/{token}",
        }


@blp.route("/orgs/<org>/invitations/<invitation_id>")
class InvitationById(MethodView):
    @blp.auth("orgs:write")
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="`invitation_used`")
    def delete(self, org, invitation_id):
        """Revoke a pending invitation (admins)."""
        orgs.revoke_invitation(current_user(), org, invitation_id)
        return ""


@blp.route("/invitations/accept")
class Accept(MethodView):
    @blp.auth("orgs:write")
    @blp.arguments(AcceptSchema())
    @blp.response(200, AcceptedSchema)
    @blp.alt_response(
        404, schema=ErrorSchema, description="`invitation_not_found`: unknown, revoked, or for another user"
    )
    @blp.alt_response(409, schema=ErrorSchema, description="`invitation_used` or `already_member`")
    @blp.alt_response(410, schema=ErrorSchema, description="`invitation_expired`")
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Join the organisation an invitation is for."""
        membership = orgs.accept_invitation(current_user(), args["token"])
        return {"org": _org(membership.space, membership.role), "role": membership.role}
