"""gunicorn's own log lines as JSON, like the hub's (hub/logs.py).

The access line is built as a dict and dumped, so any character a client
sends stays valid JSON. It names the path, never the query string, where
OAuth codes and tokens travel; and of a path that is itself a secret (an
invitation or a task's share link), only its prefix.
"""

from __future__ import annotations

import json
import logging

from gunicorn.glogging import Logger

from hub.logs import JsonLineFormatter, RequestContextFilter

# Paths whose rest is a token: /invitations/<token>, /share/<token>.
SECRET_PATHS = ("/invitations/", "/share/")


class JsonLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonLineFormatter("{asctime}{levelname}{name}{process}{message}", process="pid")
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter)
            handler.addFilter(RequestContextFilter())
        for handler in self.access_log.handlers:
            handler.setFormatter(logging.Formatter("%(message)s"))

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        headers = {name.lower(): value for name, value in resp.headers}
        line = {
            "logger": "gunicorn.access",
            "remote": environ.get("REMOTE_ADDR"),
            "method": req.method,
            "path": _shown(req.path),
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": headers.get("x-request-id"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        self.access_log.info(json.dumps(line))


def _shown(path: str) -> str:
    for prefix in SECRET_PATHS:
        if path.startswith(prefix):
            return prefix + "…"
    return path
