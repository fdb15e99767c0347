"""Every paged list names its next page in a `Link: <url>; rel="next"` header
while there is one, as the README says: with three items and limit=2, page 0
links to page 1 (at HUB_BASE_URL, with the same path and filters), which
holds the third item and no Link."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

pytestmark = pytest.mark.usefixtures("webhook_settings")  # hooks may target the loopback receiver

NEXT = re.compile(r'<([^<>\s]+)>; rel="next"')


def tasks(user, **_):
    for i in range(3):
        user.create_task(title=f"t{i}")
    cancelled = user.create_task(title="not pending")
    assert user.post(f"/api/v1/tasks/{cancelled['id']}/cancel").status_code == 200
    return "/api/v1/tasks?status=pending"  # the cancelled one must stay out of page 1 too


def messages(user, **_):
    # An awkward thread id: the Link must carry it encoded, not break the header.
    conversation = '1701.0002 <b>; rel="x", c'
    for i in range(3):
        sent = user.post("/api/v1/messages", json={"message": f"m{i}", "conversation_id": conversation})
        assert sent.status_code == 201, sent.json
    return f"/api/v1/conversations/{quote(conversation)}/messages"


def deliveries(user, app, receiver, **_):
    from hub.webhooks import delivery

    hook = user.post("/api/v1/hooks", json={"event": "task.created", "target_url": receiver.url()}).json
    for i in range(3):
        user.create_task(title=f"t{i}")
    with app.app_context():  # the delivery worker's fan-out, run here: it makes the deliveries
        while delivery.fan_out(app.config)[0]:
            pass
    return f"/api/v1/hooks/{hook['id']}/deliveries"


def output(user, app, client, **_):
    from hub.services import workers

    with app.app_context():
        token = workers.create_token("w")[1]
    worker = {"Authorization": f"Bearer {token}"}

    def call(path, body):
        response = client.post(f"/api/v1/worker{path}", json=body, headers=worker)
        assert response.status_code == 200, response.json
        return response.json

    task = user.create_task()
    worker_id = call("/register", {"name": "w"})["worker_id"]
    assert call(f"/{worker_id}/claim", {"wait": 0})["task"]["id"] == task["id"]
    for i in range(4):
        call(f"/tasks/{task['id']}/heartbeat", {"output": f"step {i}\n"})
    first = user.get(f"/api/v1/tasks/{task['id']}/output?limit=1").json[0]
    return f"/api/v1/tasks/{task['id']}/output?after={first['seq']}"  # three chunks after the first


def codebases(user, **_):
    for name in ("api", "web"):  # with `global`: three
        assert user.post("/api/v1/codebases", json={"name": name}).status_code == 201
    return "/api/v1/codebases"


def new_task_trigger(user, **_):
    for i in range(3):
        user.create_task(title=f"t{i}")
    return "/connectors/zapier/triggers/new_task"


def codebase_choices_trigger(user, **_):
    codebases(user)
    return "/connectors/zapier/triggers/codebase_choices"


def cancellable_task_choices_trigger(user, **_):
    tasks(user)
    return "/connectors/zapier/triggers/cancellable_task_choices"


LISTS = [
    tasks,
    messages,
    deliveries,
    output,
    codebases,
    new_task_trigger,
    codebase_choices_trigger,
    cancellable_task_choices_trigger,
]


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.mark.parametrize("make_list", LISTS, ids=[f.__name__ for f in LISTS])
def test_page_zero_links_to_the_page_with_the_third_item(app, client, make_user, receiver, make_list):
    user = make_user("dave", tier="enterprise")
    url = make_list(user, app=app, client=client, receiver=receiver)
    whole = user.get(with_query(url, "limit=100"))
    assert whole.status_code == 200 and len(whole.json) == 3, whole.json
    assert "Link" not in whole.headers  # one page holds them all

    first = user.get(with_query(url, "limit=2"))
    assert first.status_code == 200 and first.json == whole.json[:2]
    link = first.headers.get("Link")
    assert link, f"{url}: no Link on page 0 of 2"
    match = NEXT.fullmatch(link)
    assert match, link
    next_url = match[1]
    base = app.config["HUB_BASE_URL"]
    assert next_url.startswith(base + "/"), next_url

    # Same path, same filters, the next page.
    asked, named = urlsplit(with_query(url, "limit=2")), urlsplit(next_url)
    assert named.path == asked.path
    assert parse_qs(named.query) == {**parse_qs(asked.query), "page": ["1"]}

    second = user.get(next_url.removeprefix(base))
    assert second.status_code == 200 and second.json == whole.json[2:]
    assert "Link" not in second.headers


def test_each_paged_list_documents_the_link_header(client):
    spec = client.get("/openapi.json").json
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            if any(p["name"] == "page" for p in operation.get("parameters", []) if p.get("in") == "query"):
                assert "Link" in operation["responses"]["200"].get("headers", {}), f"{method.upper()} {path}"
