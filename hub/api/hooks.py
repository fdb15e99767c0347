"""REST hooks: subscribe a URL to an event type, see and replay deliveries."""

import marshmallow as ma
from flask import g
from flask.views import MethodView
from marshmallow import fields, validate

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.models.conversations import MESSAGE_ROLES
from hub.models.events import EVENT_SCOPES, EVENT_TYPES
from hub.models.tasks import AGENT_TYPES
from hub.schemas import OptionalStr, PageArgs, UTCDateTime
from hub.services import hooks

blp = Blueprint("hooks", __name__, url_prefix="/api/v1", description="REST hooks (webhook subscriptions)")

# A hook route takes the read scope of some event type; the service then
# requires the read scope of the hook's own event (hub.models.events.EVENT_SCOPES).
ANY_EVENT_SCOPE = tuple(dict.fromkeys(EVENT_SCOPES.values()))
EVENT_HELP = ", ".join(f"{event} (needs {scope})" for event, scope in EVENT_SCOPES.items())


def scopes() -> frozenset[str]:
    return g.principal.scopes


class HookCreateSchema(ma.Schema):
    event = fields.String(
        required=True,
        validate=validate.OneOf(EVENT_TYPES),
        metadata={"description": "Event type and the scope it needs: " + EVENT_HELP},
    )
    target_url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "Where to POST the events (public http(s) URL)"},
    )
    codebase_id = OptionalStr(
        validate=validate.Length(max=64), metadata={"description": "Only events of this codebase"}
    )
    agent_type = OptionalStr(
        validate=validate.OneOf(AGENT_TYPES), metadata={"description": "Only tasks of this agent type"}
    )
    role = OptionalStr(
        validate=validate.OneOf(MESSAGE_ROLES),
        metadata={
            "description": "message.created only: only the user's (`user`) or the agent's (`assistant`) messages"
        },
    )
    format = OptionalStr(
        validate=validate.Length(max=40),
        metadata={"description": "Payload format; default `standard` ({id, type, timestamp, data})"},
    )


class HookSchema(ma.Schema):
    id = fields.String()
    event = fields.String()
    target_url = fields.String()
    codebase_id = fields.String(allow_none=True)
    agent_type = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    format = fields.String()
    status = fields.String(metadata={"description": "active, disabled (sustained failure) or deleted"})
    failure_count = fields.Integer(metadata={"description": "Failed attempts in a row"})
    created_at = UTCDateTime()
    disabled_at = UTCDateTime(allow_none=True)
    deleted_at = UTCDateTime(allow_none=True)


class HookCreatedSchema(HookSchema):
    secret = fields.String(metadata={"description": "`whsec_…` signing secret; shown only now"})


class AttemptSchema(ma.Schema):
    number = fields.Integer()
    started_at = UTCDateTime()
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)


class DeliverySchema(ma.Schema):
    id = fields.String()
    hook_id = fields.Function(lambda d: d.subscription.id, metadata={"type": "string"})
    event_id = fields.Function(lambda d: d.event.id, metadata={"type": "string"})
    event_type = fields.Function(lambda d: d.event.type, metadata={"type": "string"})
    webhook_id = fields.Function(
        lambda d: d.event.id,
        metadata={"type": "string", "description": "The `webhook-id` header: the same on every attempt"},
    )
    status = fields.String(metadata={"description": "sending, retrying, delivered or failed"})
    attempts = fields.Integer()
    next_attempt_at = UTCDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_latency_ms = fields.Float(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    attempt_log = fields.List(fields.Nested(AttemptSchema))


@blp.route("/hooks")
class Hooks(MethodView):
    @blp.auth(ANY_EVENT_SCOPE)
    @blp.response(200, HookSchema(many=True))
    def get(self):
        """List your hooks to events this credential may read, newest first."""
        return hooks.list_hooks(current_user(), scopes=scopes())

    @blp.auth(ANY_EVENT_SCOPE)
    @blp.idempotent
    @blp.arguments(HookCreateSchema())
    @blp.response(201, HookCreatedSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Subscribe a URL to an event type. The answer holds the `whsec_`
        secret that signs every delivery; it is not shown again."""
        subscription, secret = hooks.subscribe(
            current_user(), scopes=scopes(), oauth_client_pk=g.principal.oauth_client_pk, **args
        )
        subscription.secret = secret  # type: ignore[attr-defined]  # not a column: for this response only, never stored
        return subscription


@blp.route("/hooks/<hook_id>")
class HookById(MethodView):
    @blp.auth(ANY_EVENT_SCOPE)
    @blp.response(200, HookSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, hook_id):
        """One hook by id."""
        return hooks.get_hook(current_user(), hook_id, scopes=scopes())

    @blp.auth(ANY_EVENT_SCOPE)
    @blp.response(200, HookSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def delete(self, hook_id):
        """Unsubscribe. Answers the hook (status `deleted`); repeating it is safe."""
        return hooks.unsubscribe(current_user(), hook_id, scopes=scopes())


@blp.route("/hooks/<hook_id>/deliveries")
class HookDeliveries(MethodView):
    @blp.auth(ANY_EVENT_SCOPE)
    @blp.paged(PageArgs(), DeliverySchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def get(self, args, hook_id):
        """The hook's deliveries, newest first, each with its attempts."""
        return hooks.list_deliveries(current_user(), hook_id, scopes=scopes(), **args)


@blp.route("/deliveries/<delivery_id>/replay")
class DeliveryReplay(MethodView):
    @blp.auth(ANY_EVENT_SCOPE)
    @blp.response(202, DeliverySchema)
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="Still being delivered, or the hook was deleted")
    def post(self, delivery_id):
        """Send a delivery again (same `webhook-id`, same body)."""
        return hooks.replay(current_user(), delivery_id, scopes=scopes())
