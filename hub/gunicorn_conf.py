"""gunicorn settings for the hub: ``gunicorn -c python:hub.gunicorn_conf wsgi:app``
(the repository's gunicorn.conf.py loads this, so plain ``gunicorn wsgi:app``
from a checkout gets it too). Values come from the hub's settings; flags on
gunicorn's command line still win.

gthread workers: one process a core, threads for concurrency, so an agent
worker's long-poll holds a thread, not a whole process. Access log lines are
JSON with the request id (hub/gunicorn_log.py); they log the path without its
query string, where OAuth codes and tokens can travel.

A worker ends with its master, even one killed by SIGKILL (hub.lifeline),
and a stopping worker ends its waiting long-polls at once (hub.wakeups).
"""

import contextlib
import gc
import os
import signal
import tempfile

# Not imported as `config`: gunicorn reads every module-level name here as a setting, and `config` is one.
from hub import config as hub_config
from hub import lifeline

bind = f"{hub_config.value('HUB_HOST')}:{hub_config.value('HUB_PORT')}"
worker_class = "gthread"
workers = hub_config.value("HUB_WEB_WORKERS")
threads = hub_config.value("HUB_WEB_THREADS")
timeout = hub_config.value("HUB_WEB_TIMEOUT")
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
    """Before workers fork: the folder where they keep /metrics values, rid
    of the files of processes that ended (a delivery worker sharing it, as
    under `up`, keeps its own across a restart of gunicorn)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="hub-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    else:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            pid = name.rsplit(".", 1)[0].rsplit("_", 1)[-1]
            if not (pid.isdigit() and lifeline.start_time(int(pid))):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(path, name))
    server.log.info("metrics folder %s", path)


def post_fork(server, worker):
    lifeline.die_with_parent(signal.SIGTERM, server.pid)
    if worker.age > 1:  # the first worker logs the connectors it mounted or refused; the others load the same
        from hub import plugins

        plugins.said_elsewhere()


def post_worker_init(worker):
    """On gunicorn's stop signals, end waiting long-polls first: the worker
    waits for requests in flight, and a long-poll would hold it up to
    HUB_WORKER_POLL_SECONDS."""
    from hub import wakeups

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        handler = signal.getsignal(sig)

        def stop(signum, frame, handler=handler):
            wakeups.stop_waiting()
            handler(signum, frame)

        signal.signal(sig, stop)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn set it: requests in flight go on


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    # The interpreter's last garbage collection walks every object of the
    # app: 1-2 s of a stop on a busy machine, for memory about to be freed.
    gc.freeze()


def on_exit(server):
    gc.freeze()
