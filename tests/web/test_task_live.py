"""The live task page: the agent's output, its question and the task's end
appear on the open page as the worker reports them, with no reload; its
stream (/tasks/<id>/live) is the owner's alone, resumes after the last
output it sent, ends when the task finishes and when the hub stops. On the
hub as deployed (gunicorn, gthread), with a real agent worker's HTTP calls."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect
from support import DEADLINE_SCALE, wait_for
from support.chromium import browser_sign_in
from support.forms import Browser
from support.live_hub import LiveHub
from support.module_hub import module_hub

# The SQLite pass is enough: the stream reads a task, its output and events as the page does.
pytestmark = pytest.mark.sqlite_only

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def live_hub(request) -> Iterator[LiveHub]:
    """One hub under gunicorn for the module (its last test stops it)."""
    with module_hub(request, "live-page-hub") as hub:
        yield hub


class Worker:
    """An agent worker on the worker API, over HTTP."""

    def __init__(self, hub: LiveHub):
        from hub.services import workers

        with hub.app.app_context():
            token = workers.create_token("live-page")[1]
        self.http = httpx.Client(
            base_url=hub.url("/api/v1/worker"), headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.id = self.post("/register", name="live-page")["worker_id"]

    def post(self, path: str, **body) -> dict:
        answer = self.http.post(path, json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def claim(self, task_id: str) -> None:
        assert self.post(f"/{self.id}/claim", wait=0)["task"]["id"] == task_id


def user_with_task(hub: LiveHub, username: str) -> tuple[str, dict]:
    """A new user's API key and a task of theirs."""
    hub.create_user(username, password=PASSWORD, tier="enterprise")
    key = hub.cli("api-keys", "create", username, "--json")["key"]
    task = hub.api("/api/v1/tasks", key, "POST", json={"title": "Fix the build", "prompt": "Make CI green"})
    assert task.status_code == 201, task.text
    return key, task.json()


def events(stream: httpx.Response) -> Iterator[dict]:
    """The Server-Sent Events of ``stream`` (comments and ``retry`` left out)."""
    event: dict = {}
    for line in stream.iter_lines():
        if not line:
            if "data" in event:
                yield {"event": event.get("event", "message"), "id": event.get("id"), "data": json.loads(event["data"])}
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


def test_the_page_shows_output_question_and_end_as_they_come_without_a_reload(live_hub, page):
    key, task = user_with_task(live_hub, "alice")
    worker = Worker(live_hub)
    worker.claim(task["id"])
    browser_sign_in(page, live_hub, "alice", PASSWORD)
    page.goto(task["url"])
    expect(page.locator("#task-status")).to_have_text("running")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    worker.post(f"/tasks/{task['id']}/heartbeat", output="Compiling...\n")
    expect(page.locator("#task-output")).to_have_text("Compiling...\n")
    worker.post(f"/tasks/{task['id']}/heartbeat", output="42 tests pass\n")
    expect(page.locator("#task-output")).to_have_text("Compiling...\n42 tests pass\n")
    page.shot("output")

    worker.post(f"/tasks/{task['id']}/ask", question="Deploy to which <branch>?")
    expect(page.locator("#task-status")).to_have_text("input_required")
    expect(page.locator("#task-question")).to_contain_text("Deploy to which <branch>?")
    page.fill("#reply-message", "main, please")
    page.shot("question")
    # The reply comes from elsewhere (Zapier, the API): the form goes, the conversation shows it.
    sent = live_hub.api(f"/api/v1/tasks/{task['id']}/messages", key, "POST", json={"message": "main"})
    assert sent.status_code in (200, 201), sent.text
    expect(page.locator("#task-status")).to_have_text("pending")
    expect(page.locator("#task-question")).to_have_count(0)
    expect(page.locator("#task-conversation")).to_contain_text("main")

    worker.claim(task["id"])
    expect(page.locator("#task-status")).to_have_text("running")
    worker.post(f"/tasks/{task['id']}/complete", result="Deployed main: all green.")
    expect(page.locator("#task-status")).to_have_text("completed")
    expect(page.locator("#task-result")).to_have_text("Deployed main: all green.")
    expect(page.locator(".timeline")).to_contain_text("task.completed")
    expect(page.locator("#cancel-task")).to_have_count(0)
    page.shot("completed")
    assert navigations == [] and page.evaluate("window.sameDocument") is True


def test_without_event_source_the_page_reloads_itself_as_before(live_hub, page):
    _key, task = user_with_task(live_hub, "dora")
    worker = Worker(live_hub)
    worker.claim(task["id"])
    page.add_init_script("delete window.EventSource")  # a browser without it
    browser_sign_in(page, live_hub, "dora", PASSWORD)
    page.goto(task["url"])
    expect(page.locator("#task-status")).to_have_text("running")
    page.evaluate("window.sameDocument = true")
    worker.post(f"/tasks/{task['id']}/complete", result="Done the old way.")
    expect(page.locator("#task-result")).to_have_text("Done the old way.", timeout=15000)
    assert page.evaluate("window.sameDocument") is None  # it came by a reload


def test_the_stream_is_the_owners_alone(live_hub):
    key, task = user_with_task(live_hub, "owner")
    live_hub.create_user("other", password=PASSWORD)
    other = Browser(live_hub)
    other.login("other", PASSWORD)
    url = live_hub.url(f"/tasks/{task['id']}/live")
    assert other.http.get(url).status_code == 404  # as the page: not theirs
    assert other.http.get(live_hub.url("/tasks/task_nope/live")).status_code == 404
    anonymous = httpx.get(url, timeout=10)
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login")

    owner = Browser(live_hub)
    owner.login("owner", PASSWORD)
    refused = owner.http.get(url, headers={"Last-Event-ID": "seven"})
    assert refused.status_code == 422 and refused.json()["errors"] == {
        "Last-Event-ID": ["Must be an output chunk's seq, a whole number."]
    }
    live_hub.api(f"/api/v1/tasks/{task['id']}/cancel", key, "POST")  # no worker claims it in the next tests


def test_the_stream_resumes_after_the_last_output_and_ends_when_the_task_finishes(live_hub):
    _key, task = user_with_task(live_hub, "bea")
    worker = Worker(live_hub)
    worker.claim(task["id"])
    texts = [f"line {n}\n" for n in range(25)]  # more than a pass sends: the stream pages through them
    for text in texts:
        worker.post(f"/tasks/{task['id']}/heartbeat", output=text)
    bea = Browser(live_hub)
    bea.login("bea", PASSWORD)
    url = live_hub.url(f"/tasks/{task['id']}/live")
    timeout = httpx.Timeout(10 * DEADLINE_SCALE, read=60 * DEADLINE_SCALE)

    with bea.http.stream("GET", url, timeout=timeout) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        first = events(stream)
        outputs = [next(first) for _ in texts]
        assert [(e["event"], e["data"]["text"]) for e in outputs] == [("output", text) for text in texts]
        state = next(first)
        assert state["event"] == "state" and state["data"]["status"] == "running"
        assert 'id="task-status">running' in state["data"]["summary"]

    # A reconnection (the browser's Last-Event-ID): what came after, then the state again.
    with bea.http.stream("GET", url, headers={"Last-Event-ID": outputs[0]["id"]}, timeout=timeout) as stream:
        again = events(stream)
        assert [next(again)["data"].get("text") for _ in texts[1:]] == texts[1:]
        assert next(again)["event"] == "state"
        worker.post(f"/tasks/{task['id']}/heartbeat", output="three\n")
        assert next(again)["data"] == {"text": "three\n"}
        worker.post(f"/tasks/{task['id']}/complete", result="done")
        rest = list(again)  # the stream ends by itself once the task finished
    assert [e["event"] for e in rest] == ["state", "end"] and rest[0]["data"]["status"] == "completed"
    assert 'id="task-result">done' in rest[0]["data"]["summary"]


def test_signing_out_ends_the_stream_before_anything_more_is_shown(live_hub):
    _key, task = user_with_task(live_hub, "finn")
    worker = Worker(live_hub)
    worker.claim(task["id"])
    finn = Browser(live_hub)
    finn.login("finn", PASSWORD)
    timeout = httpx.Timeout(10 * DEADLINE_SCALE, read=60 * DEADLINE_SCALE)
    with finn.http.stream("GET", live_hub.url(f"/tasks/{task['id']}/live"), timeout=timeout) as stream:
        received = events(stream)
        assert next(received)["event"] == "state"
        # Signed out elsewhere (another tab, another device: every session ends).
        other = Browser(live_hub)
        other.login("finn", PASSWORD)
        signed_out = other.submit(other.go(live_hub.url("/dashboard")))  # the header's Sign out, the page's first form
        assert signed_out.url.path == "/login"
        worker.post(f"/tasks/{task['id']}/heartbeat", output="after the sign-out\n")
        assert list(received) == []  # the stream ended, with nothing more
    assert finn.go(live_hub.url(f"/tasks/{task['id']}")).url.path == "/login"  # as the reconnection meets it
    worker.post(f"/tasks/{task['id']}/complete", result="done")


def test_a_process_serves_at_most_half_its_threads_as_page_streams(live_hub):
    """A stream holds a web thread: beyond half of HUB_WEB_THREADS (8) the
    answer is 503, on which the page falls back to reloading."""
    _key, task = user_with_task(live_hub, "eve")
    worker = Worker(live_hub)
    worker.claim(task["id"])
    eve = Browser(live_hub)
    eve.login("eve", PASSWORD)
    url = live_hub.url(f"/tasks/{task['id']}/live")
    timeout = httpx.Timeout(10 * DEADLINE_SCALE, read=60 * DEADLINE_SCALE)
    with contextlib.ExitStack() as streams:
        opened = []
        for _ in range(5):
            stream = streams.enter_context(eve.http.stream("GET", url, timeout=timeout))
            if stream.status_code != 200:
                break
            opened.append(events(stream))
            assert next(opened[-1])["event"] == "state"  # open
        assert stream.status_code == 503 and len(opened) == 4
        worker.post(f"/tasks/{task['id']}/complete", result="done")
        assert [[e["event"] for e in received][-1] for received in opened] == ["end"] * 4  # the threads free again


def test_head_requests_leave_no_stream_behind(live_hub):
    """A HEAD on the stream (answered as a GET without its body) must not keep
    a place: more of them than the cap, and the page's stream still opens."""
    _key, task = user_with_task(live_hub, "hana")
    worker = Worker(live_hub)
    worker.claim(task["id"])
    hana = Browser(live_hub)
    hana.login("hana", PASSWORD)
    url = live_hub.url(f"/tasks/{task['id']}/live")
    for _ in range(6):  # the cap is 4
        head = hana.http.head(url)
        assert head.status_code == 200 and head.headers["content-type"].startswith("text/event-stream")
    timeout = httpx.Timeout(10 * DEADLINE_SCALE, read=60 * DEADLINE_SCALE)
    with hana.http.stream("GET", url, timeout=timeout) as stream:
        assert stream.status_code == 200
        received = events(stream)
        assert next(received)["event"] == "state"
        worker.post(f"/tasks/{task['id']}/complete", result="done")
        assert [e["event"] for e in received][-1] == "end"


def test_a_stopping_hub_ends_the_page_streams_at_once(live_hub):
    """gunicorn waits for requests in flight when it stops (its graceful
    timeout, 30 s): an open task page must not hold a stop that long. (The
    module's last test: it stops the hub.)"""
    _key, task = user_with_task(live_hub, "cleo")
    Worker(live_hub).claim(task["id"])
    cleo = Browser(live_hub)
    cleo.login("cleo", PASSWORD)
    with cleo.http.stream("GET", live_hub.url(f"/tasks/{task['id']}/live"), timeout=60) as stream:
        received = events(stream)
        assert next(received)["event"] == "state"
        started = time.monotonic()
        assert live_hub.server.stop(timeout=25) == 0, live_hub.server.output()[-3000:]
        assert time.monotonic() - started < 20  # not the graceful timeout's 30 s
        assert list(received) == []  # the stream ended, without an "end": the browser reconnects
    wait_for(lambda: live_hub.server.process.poll() is not None, message="gunicorn to exit")
