"""A keep-alive HTTP receiver for the benchmarks, run as its own process:
answers every POST with 200 and notes (webhook-id, arrival time).
GET /count answers how many arrived; GET /dump the notes; GET /reset
forgets them."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOTES: list[tuple[str, float]] = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def do_POST(self):
        arrived = time.time()  # the request line and headers are in: "first byte" seen by the app
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with LOCK:
            NOTES.append((self.headers.get("webhook-id", ""), arrived))
        self._answer(b'{"ok":true}')

    def do_GET(self):
        with LOCK:
            if self.path == "/count":
                body = str(len(NOTES)).encode()
            elif self.path == "/dump":
                body = json.dumps(NOTES).encode()
            else:
                NOTES.clear()
                body = b"0"
        self._answer(body)

    def _answer(self, body: bytes):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
