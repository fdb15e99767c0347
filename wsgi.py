"""WSGI entry point from a checkout: ``gunicorn wsgi:app`` (an installed hub: ``hub.wsgi:app``)."""

from hub.wsgi import app  # noqa: F401
