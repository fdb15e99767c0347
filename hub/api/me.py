from flask.views import MethodView

from hub.api.base import Blueprint
from hub.auth import current_user
from hub.schemas import UserSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The signed-in account")


@blp.route("/me")
class Me(MethodView):
    @blp.auth()
    @blp.response(200, UserSchema)
    def get(self):
        """Who the credentials belong to (Zapier's connection test)."""
        return current_user()
