"""WSGI entry point of an installed hub: ``gunicorn -c python:hub.gunicorn_conf hub.wsgi:app``."""
from hub import create_app

app = create_app()
