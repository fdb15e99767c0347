"""gunicorn settings for the hub: ``gunicorn -c python:hub.gunicorn_conf wsgi:app``
(the repository's gunicorn.conf.py loads this, so plain ``gunicorn wsgi:app``
from a checkout gets it too). Values come from the hub's settings; flags on
gunicorn's command line still win.

gthread workers: one process a core, threads for concurrency, so an agent
worker's long-poll holds a thread, not a whole process. Access log lines are
JSON with the request id (hub/gunicorn_log.py); they log the path without its
query string, where OAuth codes and tokens can travel.
"""
import os
import shutil
import tempfile

from hub.config import default_web_workers

bind = f"{os.environ.get('HUB_HOST') or '127.0.0.1'}:{os.environ.get('HUB_PORT') or '5000'}"
worker_class = "gthread"
workers = int(os.environ.get("HUB_WEB_WORKERS") or default_web_workers())
threads = int(os.environ.get("HUB_WEB_THREADS") or 8)
timeout = int(os.environ.get("HUB_WEB_TIMEOUT") or 60)
# On SIGTERM: stop accepting, let requests in flight finish for this long.
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (jittered, so not all at once) to bound leaks.
max_requests = 10000
max_requests_jitter = 1000
# Trust X-Forwarded-* only from a local proxy unless told otherwise.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicorn's control socket sits at one path per user: several hubs on one
# host would fight over it, and the hub does not use it.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
logger_class = "hub.gunicorn_log.JsonLogger"


def on_starting(server):
    """Before workers fork: a fresh folder where they keep /metrics values."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="hub-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    else:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)
    server.log.info("metrics folder %s", path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
