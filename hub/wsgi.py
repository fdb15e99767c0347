"""WSGI entry point of an installed hub: ``gunicorn -c python:hub.gunicorn_conf hub.wsgi:app``."""

from hub import config, create_app

config.create_instance()  # a server sets the hub up, as `up` does: its generated SECRET_KEY is kept there
app = create_app()
