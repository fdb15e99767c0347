import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate

from hub.api.base import Blueprint, ErrorSchema
from hub.auth import current_user
from hub.schemas import CodebaseSchema, OptionalStr, PageArgs, RequiredText
from hub.services import codebases

blp = Blueprint("codebases", __name__, url_prefix="/api/v1", description="Codebases agents work on")


class CodebaseCreateSchema(ma.Schema):
    name = RequiredText(max_length=200)
    path = OptionalStr(
        validate=validate.Length(max=1024),
        metadata={"description": "Directory of the checkout on the agent workers' machines"},
    )
    description = OptionalStr(validate=validate.Length(max=10_000))


@blp.route("/codebases")
class Codebases(MethodView):
    @blp.auth("codebases:read")
    @blp.paged(PageArgs(), CodebaseSchema(many=True))
    @blp.alt_response(422, schema=ErrorSchema)
    def get(self, args):
        """The user's codebases, `global` first."""
        return codebases.list_codebases(current_user(), **args)

    @blp.auth("codebases:write")
    @blp.arguments(CodebaseCreateSchema())
    @blp.response(201, CodebaseSchema)
    @blp.alt_response(422, schema=ErrorSchema)
    def post(self, args):
        """Register a codebase."""
        return codebases.create_codebase(current_user(), **args)
