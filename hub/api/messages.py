from flask import g
from flask.views import MethodView

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.schemas import MessageCreatedSchema, MessageCreateSchema, MessageSchema, PageArgs
from hub.services import conversations

blp = Blueprint("messages", __name__, url_prefix="/api/v1", description="Conversations with agents")


@blp.route("/messages")
class Messages(MethodView):
    @blp.auth("messages:write")
    @blp.idempotent
    @blp.arguments(MessageCreateSchema())
    @blp.response(201, MessageCreatedSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="A `callback_url` needs `messages:read` too")
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Send a message, continuing or starting a conversation. With a
        `callback_url`, the answer holds the `callback_secret` that signs the
        callback; it is not shown again. In a conversation whose task waits
        for input (`input_required`), the message is its reply: that same task
        resumes, and `task_id` names it."""
        return conversations.send_message(current_user(), scopes=g.principal.scopes, **args)


@blp.route("/conversations/<conversation_id>/messages")
class ConversationMessages(MethodView):
    @blp.auth("messages:read")
    @blp.paged(PageArgs(), MessageSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def get(self, args, conversation_id):
        """A conversation's messages, oldest first."""
        return conversations.list_messages(current_user(), conversation_id, **args)
