import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.schemas import MessageSchema, OptionalStr, RequiredText
from hub.services import conversations

blp = Blueprint("messages", __name__, url_prefix="/api/v1", description="Conversations with agents")


class MessageCreateSchema(ma.Schema):
    message = RequiredText(max_length=100_000, metadata={"description": "Message content"})
    conversation_id = OptionalStr(
        validate=validate.Length(max=255),
        metadata={"description": "Conversation to continue; a new id (e.g. a Slack thread_ts) starts one"},
    )
    codebase_id = OptionalStr(validate=validate.Length(max=64), metadata={"description": "Target codebase"})


class PageSchema(ma.Schema):
    page = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


@blp.route("/messages")
class Messages(MethodView):
    @blp.auth("messages:write")
    @blp.idempotent
    @blp.arguments(MessageCreateSchema())
    @blp.response(201, MessageSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Send a message, continuing or starting a conversation."""
        return conversations.send_message(current_user(), **args)


@blp.route("/conversations/<conversation_id>/messages")
class ConversationMessages(MethodView):
    @blp.auth("messages:read")
    @blp.arguments(PageSchema(), location="query")
    @blp.response(200, MessageSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, args, conversation_id):
        """A conversation's messages, oldest first."""
        return conversations.list_messages(current_user(), conversation_id, **args)
