"""Share links over REST: what the task page's share controls do
(``hub.services.share_links``). The link's URL is answered once, on creation."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.schemas import UTCDateTime
from hub.services import share_links

blp = Blueprint("share_links", __name__, url_prefix="/api/v1", description="Read-only share links to tasks")


class ShareLinkCreateSchema(ma.Schema):
    days = fields.Integer(
        load_default=share_links.DEFAULT_DAYS,
        # The range too: the OpenAPI document shows the bounds (a OneOf alone gives none).
        validate=[validate.Range(min(share_links.DAYS), max(share_links.DAYS)), validate.OneOf(share_links.DAYS)],
        metadata={"description": "Days until the link expires: 1, 7 (default) or 30"},
    )


class ShareLinkSchema(ma.Schema):
    id = fields.String()
    created_at = UTCDateTime()
    expires_at = UTCDateTime()
    revoked_at = UTCDateTime(allow_none=True)


class ShareLinkCreatedSchema(ShareLinkSchema):
    url = fields.String(
        metadata={"description": "The link (`…/share/cts_…`): anyone holding it reads the task; shown only now"}
    )


@blp.route("/tasks/<task_id>/share-links")
class ShareLinks(MethodView):
    @blp.auth("tasks:read")
    @blp.response(200, ShareLinkSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema)
    def get(self, task_id):
        """The task's links still open (neither expired nor revoked), newest first; never their URLs."""
        return share_links.of_task(current_user(), task_id)

    @blp.auth("tasks:write")
    @blp.idempotent
    @blp.arguments(ShareLinkCreateSchema())
    @blp.response(201, ShareLinkCreatedSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="A viewer of the space")
    @blp.alt_response(404, schema=ErrorSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args, task_id):
        """Make a read-only link to the task for people outside its space.
        The answer holds its `url`; it is not shown again."""
        link, plain = share_links.create(current_user(), task_id, args["days"])
        link.url = share_links.url_of(plain)  # type: ignore[attr-defined]  # not a column: this response only
        return link


@blp.route("/tasks/<task_id>/share-links/<link_id>")
class ShareLinkById(MethodView):
    @blp.auth("tasks:write")
    @blp.response(200, ShareLinkSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="A viewer of the space")
    @blp.alt_response(404, schema=ErrorSchema)
    def delete(self, task_id, link_id):
        """Revoke the link: it opens nothing from now on. Answers the link; repeating it is safe."""
        return share_links.revoke(current_user(), task_id, link_id)
