"""The in-process HTTP server the tests use for anything they serve
themselves: the hub's own app, a webhook receiver, a stand-in for an
outside service. werkzeug's threaded server on 127.0.0.1, in a daemon thread
of the test process, so parallel requests truly overlap."""

from __future__ import annotations

import threading

from werkzeug.serving import WSGIRequestHandler, make_server


class _Handler(WSGIRequestHandler):
    # Headers and body go out in two writes: without this, Nagle's algorithm
    # and the client's delayed ACK hold the second back on a kept-alive connection.
    disable_nagle_algorithm = True

    def log_request(self, *args, **kwargs) -> None:
        pass  # a line a request is noise; errors are still logged


class Served:
    """``app`` (any WSGI callable) served on ``port`` (0: a free one) until ``stop()``."""

    def __init__(self, app, port: int = 0):
        self.server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_Handler)
        self.port = self.server.server_port
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"served-{self.port}", daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return self.base + path

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
