"""The REST API under /api/v1, its OpenAPI document and interactive docs."""

from __future__ import annotations

from flask import Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from hub import plugins
from hub.api import audit, codebases, hooks, me, messages, orgs, share_links, tasks, worker, worker_tokens
from hub.api.base import Api

BLUEPRINTS = (
    me.blp,
    tasks.blp,
    codebases.blp,
    messages.blp,
    worker.blp,
    worker_tokens.blp,
    hooks.blp,
    audit.blp,
    orgs.blp,
    share_links.blp,
)

SPEC_OPTIONS = {
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (`ct_…`) or an OAuth2 access token",
            },
            "workerToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "A worker token (`ctw_…`, from `codetether-hub worker-tokens create`); "
                "only the worker API takes it",
            },
        }
    },
}


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "CodeTether Hub")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/docs/assets/")
    app.config.setdefault("API_SPEC_OPTIONS", SPEC_OPTIONS)
    # One Api per app: flask-smorest keeps the app and its spec on the Api.
    api = Api(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    # Connectors (entry-point plugins) mount after the core, with the same Blueprint.auth.
    plugins.init_app(app, api)
    _serve_swagger_assets(app)


def _serve_swagger_assets(app: Flask) -> None:
    """Swagger UI's files come from the swagger-ui-bundle wheel, so /docs
    works on a machine with no internet."""

    @app.get("/docs/assets/<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(swagger_ui_path, filename)
