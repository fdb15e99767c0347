"""gunicorn reads this from the working directory: ``gunicorn wsgi:app``.
The settings live in the package (hub/gunicorn_conf.py) so an installed hub
has them too: ``gunicorn -c python:hub.gunicorn_conf wsgi:app``."""

from hub.gunicorn_conf import *  # noqa: F403
