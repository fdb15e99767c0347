"""An agent worker whose hub is down keeps retrying, and says so when the
outage starts and when the hub answers again, not at every retry."""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import free_port

from hub.agent.client import HubClient


class Answer(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"task": None}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_hub_outage_is_logged_when_it_starts_and_when_it_ends(caplog):
    port = free_port()
    client = HubClient(f"http://127.0.0.1:{port}", "ctw_test", timeout=2)
    caplog.set_level(logging.INFO, logger="hub.agent")
    answered = []
    calling = threading.Thread(target=lambda: answered.append(client.call("/w/claim", {"wait": 0})))
    calling.start()
    time.sleep(3.5)  # the outage: retries after 0.2, 0.4, 0.8, 1.6 s... meanwhile
    server = ThreadingHTTPServer(("127.0.0.1", port), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        calling.join(15)
        assert answered == [(200, {"task": None})]
    finally:
        server.shutdown()
        server.server_close()
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.agent"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("hub unreachable; retrying: ConnectError") and "cleared" in lines[1]
