"""The Zapier connector's own routes: the generated app and its docs."""

from __future__ import annotations

from pathlib import Path

import marshmallow as ma
from flask import Flask, current_app

from connectors.base import registry
from connectors.base.docs import add_readme_route
from connectors.zapier.app import definition
from connectors.zapier.operations import flatten

README = Path(__file__).with_name("README.md")


class DefinitionSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    authentication = ma.fields.Dict()
    requestTemplate = ma.fields.Dict()
    triggers = ma.fields.Dict()
    creates = ma.fields.Dict()
    searches = ma.fields.Dict()
    searchOrCreates = ma.fields.Dict()


def setup(app: Flask) -> None:
    """Subscriptions with ``format: "zapier"`` get the flat seed fields plus
    the event id, for every event type: the format of hooks the app made
    before each trigger had its own (``zapier.<trigger>``, which gives the
    same item for its event), kept so those hooks keep their deliveries."""
    registry.register_format("zapier", flatten)


def add_routes(blp) -> None:
    @blp.route("/definition.json", methods=["GET"], endpoint="definition")
    @blp.response(200, DefinitionSchema)
    def definition_json():
        """The Zapier app definition for this hub (public: it holds no secret;
        the OAuth client comes from the app's environment)."""
        # The connector as the hub mounted it (its declarations import this module).
        return definition(registry.connectors()["zapier"], current_app.config["HUB_BASE_URL"])

    add_readme_route(blp, README, "How to use CodeTether from Zapier (Markdown).")
