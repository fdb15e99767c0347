"""``connectors.base.Connector``: a connector's declarations plus the three
calls the hub makes when it loads one (``hub.plugins.Plugin``): check it,
mount it, describe it. The declarations stay data (declarations.py); the
checks and the routes read them, and this class puts them together.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from connectors.base import declarations, endpoint, registry, routes, well_known
from connectors.base.validation import validate
from hub.api.base import Api


class Connector(declarations.Connector):
    def check(self, name: str) -> None:
        """Raise InvalidConnector naming every problem (the hub refuses the
        connector with that message)."""
        validate(self, name)

    def init_app(self, app: Flask, api: Api) -> None:
        """Mount the connector: its triggers' payload formats, its own
        ``setup``, its routes under /connectors/<key>/ and its protocol
        endpoint, if any, at /connectors/<key>; its well-known documents at
        /.well-known/<name>."""
        registry.register_formatters(self)
        if self.setup:
            self.setup(app)
        blp = routes.build_blueprint(self)
        if self.endpoint:
            endpoint.mount(blp, self, app)
        api.register_blueprint(blp, url_prefix=f"/connectors/{self.key}")
        for name, document in self.well_known:
            well_known.mount(app, self.key, name, document)

    def summary(self) -> dict[str, Any]:
        return routes.summary(self)
