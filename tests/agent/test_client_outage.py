"""An agent worker whose hub is down keeps retrying, and says so when the
outage starts and when the hub answers again, not at every retry."""

import json
import logging
import re
import threading

import pytest
from support import free_port, wait_for

from hub.agent.client import HUB_UNREACHABLE, HubClient

# The SQLite pass is enough: no database here (the hub is a stub).
pytestmark = pytest.mark.sqlite_only


def no_task(environ, start_response):
    """The hub's answer to a claim when there is no work."""
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    body = json.dumps({"task": None}).encode()
    start_response("200 OK", [("content-type", "application/json"), ("content-length", str(len(body)))])
    return [body]


def test_a_hub_outage_is_logged_when_it_starts_and_when_it_ends(caplog, serve):
    port = free_port()
    client = HubClient(f"http://127.0.0.1:{port}", "ctw_test", timeout=2)
    caplog.set_level(logging.INFO, logger="hub.agent")
    answered = []
    calling = threading.Thread(target=lambda: answered.append(client.call("/w/claim", {"wait": 0})))
    calling.start()
    # The outage lasts until the client has met it four times (retries after 0.2, 0.4, 0.8 s...).
    wait_for(lambda: HUB_UNREACHABLE.total >= 4, timeout=15, message="four failed tries")
    serve(no_task, port)
    calling.join(15)
    assert answered == [(200, {"task": None})]
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.agent"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("hub unreachable; retrying: ConnectError") and "cleared" in lines[1]
    assert int(re.search(r"\((\d+) occurrence", lines[1]).group(1)) >= 4  # met four times or more, logged once
