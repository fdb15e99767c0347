"""The Zapier connector's own routes: the generated app and its docs."""

from __future__ import annotations

from pathlib import Path

import marshmallow as ma
from flask import Response, current_app

README = Path(__file__).with_name("README.md")


class DefinitionSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    authentication = ma.fields.Dict()
    requestTemplate = ma.fields.Dict()
    triggers = ma.fields.Dict()
    creates = ma.fields.Dict()
    searches = ma.fields.Dict()


def setup(app) -> None:
    """Subscriptions with ``format: "zapier"`` get the flat seed fields plus
    the event id, for every event type."""
    from connectors.zapier.operations import flatten
    from hub.webhooks import formatters

    formatters.register("zapier", flatten)


def add_routes(blp) -> None:
    @blp.route("/definition.json", methods=["GET"], endpoint="definition")
    @blp.response(200, DefinitionSchema)
    def definition_json():
        """The Zapier app definition for this hub (public: it holds no secret;
        the OAuth client comes from the app's environment)."""
        from connectors.zapier import connector
        from connectors.zapier.app import definition

        return definition(connector, current_app.config["HUB_BASE_URL"])

    @blp.route("/docs", methods=["GET"], endpoint="docs")
    @blp.response(200, {"type": "string"}, content_type="text/markdown")
    def docs():
        """How to use CodeTether from Zapier (Markdown)."""
        return Response(README.read_text(), mimetype="text/markdown")
