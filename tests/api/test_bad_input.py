"""Bad input never answers 500: every probe of an outside review, and
variants of it, gets a clear JSON error that names the problem, and changes
nothing."""

import json
import re

import pytest

from hub.models import Task

DEEP = "[" * 5000 + "]" * 5000


def task_count(app):
    with app.app_context():
        return Task.query.count()


@pytest.fixture
def worker(app, client):
    from hub.services import workers

    with app.app_context():
        plain = workers.create_token("probe")[1]
    return {"Authorization": f"Bearer {plain}"}


def every_route(app):
    """(method, url) for every route the hub serves, path parts filled in."""
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<[^>]+>", "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def test_deeply_nested_json_is_400_on_every_route_before_authentication(app, client):
    routes = list(every_route(app))
    assert len(routes) > 40
    for method, url in routes:
        response = client.open(url, method=method, data=DEEP, content_type="application/json")
        assert response.status_code == 400, (method, url, response.status_code)
        if response.is_json:
            assert response.json["code"] == "invalid_json", (method, url)
            assert "nests JSON" in response.json["message"], (method, url, response.json)
        else:  # a page: errors are pages, for people
            assert response.mimetype == "text/html" and b"nests JSON" in response.data, (method, url)


@pytest.mark.parametrize(
    "body",
    ids=["lists", "objects"],
    argvalues=[
        '{"title": ' + "[" * 100 + "]" * 100 + ', "prompt": "p"}',  # parses, but deeper than any input of the hub
        '{"title": "t", "prompt": "p", "x": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
    ],
)
def test_json_nested_deeper_than_the_limit_is_400(app, alice, body):
    response = alice.post("/api/v1/tasks", data=body, content_type="application/json")
    assert response.status_code == 400, response.json
    assert response.json["code"] == "invalid_json"
    assert "32 levels" in response.json["message"]
    assert task_count(app) == 0


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/tasks", '{"title": "\\ud800", "prompt": "x"}', "title"),
        ("/api/v1/tasks", '{"title": "t", "prompt": "ok \\udfff then"}', "prompt"),
        ("/api/v1/tasks", '{"title": "t", "prompt": "p", "\\ud800": 1}', "body"),
        ("/api/v1/messages", '{"message": "\\udc00"}', "message"),
        ("/api/v1/codebases", '{"name": "\\ud83d"}', "name"),
        ("/api/v1/hooks", '{"event": "task.created", "target_url": "https://\\ud800.example/"}', "target_url"),
        ("/connectors/zapier/actions/create_task", '{"title": "t", "prompt": "\\ud800"}', "prompt"),
        (
            "/connectors/zapier/actions/send_message",
            '{"message": "hi", "conversation_id": "\\ud800"}',
            "conversation_id",
        ),
    ],
)
def test_lone_surrogate_is_422_naming_the_field(app, make_user, url, body, field):
    user = make_user("sam", tier="enterprise")
    response = user.post(url, data=body, content_type="application/json")
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == [field]
    assert "surrogate" in response.json["message"]
    assert task_count(app) == 0
    assert user.get("/api/v1/hooks").json == []
    assert [c["id"] for c in user.get("/api/v1/codebases").json] == ["global"]


def test_lone_surrogate_in_a_worker_report_is_422(app, alice, client, worker):
    task = alice.create_task()
    wid = client.post("/api/v1/worker/register", json={"name": "w"}, headers=worker).json["worker_id"]
    assert client.post(f"/api/v1/worker/{wid}/claim", json={}, headers=worker).json["task"]["id"] == task["id"]
    for path, body, field in [
        ("register", '{"name": "w", "codebases": ["\\ud800"]}', "codebases"),
        (f"tasks/{task['id']}/complete", '{"result": "\\ud800"}', "result"),
        (f"tasks/{task['id']}/fail", '{"error": "\\udbff"}', "error"),
        (f"tasks/{task['id']}/heartbeat", '{"output": "\\udfff"}', "output"),
    ]:
        response = client.post(f"/api/v1/worker/{path}", data=body, content_type="application/json", headers=worker)
        assert response.status_code == 422, (path, response.json)
        assert list(response.json["errors"]) == [field]
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["status"] == "running"
    assert alice.get(f"/api/v1/tasks/{task['id']}/output").json == []


def test_a_surrogate_pair_is_a_character_and_is_kept(alice):
    response = alice.post(
        "/api/v1/tasks", data='{"title": "\\ud83d\\ude00", "prompt": "p"}', content_type="application/json"
    )
    assert response.status_code == 201, response.json
    assert alice.get(f"/api/v1/tasks/{response.json['id']}").json["title"] == "\U0001f600"


HUGE = "29416134009112801280"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/v1/tasks/{{task}}/output?after={HUGE}", "after"),
        ("/api/v1/tasks/{task}/output?after=9223372036854775808", "after"),
        ("/api/v1/tasks/{task}/output?after=-1", "after"),
        (f"/api/v1/tasks?page={HUGE}", "page"),
        (f"/api/v1/tasks?limit={HUGE}", "limit"),
        (f"/api/v1/conversations/c1/messages?page={HUGE}", "page"),
        (f"/connectors/zapier/triggers/new_task?limit={HUGE}", "limit"),
        (f"/connectors/zapier/triggers/codebase_choices?page=-{HUGE}", "page"),
    ],
)
def test_integers_out_of_bounds_are_422(alice, url, field):
    task = alice.create_task()
    response = alice.get(url.format(task=task["id"]))
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == [field]


@pytest.mark.parametrize(
    "priority",
    [HUGE, "1e400", "-1e400", "Infinity", "NaN", "1" * 5000],
    ids=["huge", "1e400", "-1e400", "Infinity", "NaN", "5000-digits"],
)
def test_integers_out_of_bounds_in_a_body_are_refused(app, alice, priority):
    for url in ("/api/v1/tasks", "/connectors/zapier/actions/create_task"):
        body = f'{{"title": "t", "prompt": "p", "priority": {priority}}}'
        response = alice.post(url, data=body, content_type="application/json")
        assert response.status_code in (400, 422), (url, response.json)
        assert "priority" in response.json.get("errors", {}) or response.json["code"] == "invalid_json"
    assert task_count(app) == 0


def test_every_number_input_of_the_api_has_bounds(client):
    """Checked on the OpenAPI document, which the same schemas generate."""
    spec = client.get("/openapi.json").json

    def resolve(schema):
        while "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def integers(schema, where):
        schema = resolve(schema)
        if schema.get("type") in ("integer", "number"):
            yield where, schema
        for name, prop in schema.get("properties", {}).items():
            yield from integers(prop, f"{where}.{name}")
        if "items" in schema:
            yield from integers(schema["items"], f"{where}[]")

    found, unbounded = [], []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            inputs = [(p["schema"], f"{method.upper()} {path} {p['name']}") for p in operation.get("parameters", [])]
            for content in operation.get("requestBody", {}).get("content", {}).values():
                inputs.append((content["schema"], f"{method.upper()} {path} body"))
            for schema, where in inputs:
                for name, integer in integers(schema, where):
                    found.append(name)
                    if "minimum" not in integer or "maximum" not in integer:
                        unbounded.append(name)
    assert len(found) > 10
    assert unbounded == []


def test_invalid_json_says_so_and_where(app, alice):
    response = alice.post(
        "/api/v1/tasks", data='{\n  "title": "t",\n  "prompt": "p",\n}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["code"] == "invalid_json"
    message = response.json["message"]
    assert "not valid JSON" in message and "line 4, column 1" in message, message
    assert task_count(app) == 0


@pytest.mark.parametrize(
    ("body", "where"),
    ids=["not-utf8", "unfinished", "single-quotes", "trailing", "5000-digits"],
    argvalues=[
        (b'{"title": "t", "prompt": "\xff"}', "line 1, column 27"),
        (b'{"title": "t", "prompt": "p"', "line 1, column 29"),
        (b"{'title': 't'}", "line 1, column 2"),
        (b'{"title": "t", "prompt": "p"} trailing', "line 1, column 31"),
        (b'{"title": "t", "prompt": "p", "priority": ' + b"9" * 5000 + b"}", None),
    ],
)
def test_invalid_json_variants_are_400_not_500(app, alice, client, body, where):
    for response in (
        alice.post("/api/v1/tasks", data=body, content_type="application/json"),
        client.post("/oauth/token", data=body, content_type="application/json"),
    ):  # before auth
        assert response.status_code == 400, response.json
        assert response.json["code"] == "invalid_json"
        assert "not valid JSON" in response.json["message"]
        if where:
            assert where in response.json["message"], response.json["message"]
    assert task_count(app) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tasks",
        "/api/v1/messages",
        "/api/v1/codebases",
        "/api/v1/hooks",
        "/connectors/zapier/actions/create_task",
    ],
)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"title": "t", "prompt": "p", "message": "m", "name": "n"}},  # a form
        {"data": '{"title": "t", "prompt": "p"}', "content_type": "text/plain"},
        {},  # no body at all
    ],
)
def test_a_json_route_without_json_is_415_saying_what_to_send(app, alice, url, kwargs):
    response = alice.post(url, **kwargs)
    assert response.status_code == 415, response.json
    assert response.json["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in response.json["message"]
    assert task_count(app) == 0


def test_an_optional_body_may_still_be_left_out(alice, client, worker):
    wid = client.post("/api/v1/worker/register", json={"name": "w"}, headers=worker).json["worker_id"]
    assert client.post(f"/api/v1/worker/{wid}/claim", headers=worker).json == {"task": None}


def test_json_content_type_on_a_get_without_a_body_is_fine(alice):
    alice.create_task()
    response = alice.get("/api/v1/tasks", content_type="application/json")
    assert response.status_code == 200 and len(response.json) == 1


def test_link_header_is_built_from_the_parsed_query(alice):
    for _ in range(3):
        alice.create_task()
    crafted = (
        "limit=1&status=pending&created_after=2020-01-01T00:00:00%2B02:00&include_total=1"
        '&x=1>;rel="next",<https://evil.example/steal>;rel="next"&%3E%2C%3Chttps://evil.example/=1'
    )
    response = alice.get("/api/v1/tasks?" + crafted)
    assert response.status_code == 200
    link = response.headers["Link"]
    assert "evil" not in link
    assert re.fullmatch(r'<http://hub\.test/api/v1/tasks\?[^<>,;"\s]+>; rel="next"', link), link
    query = link[link.index("?") + 1 : link.index(">")]
    from urllib.parse import parse_qs

    assert parse_qs(query) == {
        "status": ["pending"],
        "created_after": ["2019-12-31T22:00:00.000Z"],
        "limit": ["1"],
        "include_total": ["true"],
        "page": ["1"],
    }
    following = alice.get(link[len("<http://hub.test") : link.index(">")])
    assert following.status_code == 200 and len(following.json) == 1
    assert following.json[0]["id"] != response.json[0]["id"]


def test_a_json_body_that_is_not_an_object_names_the_body(app, alice):
    for body in ("[]", '"text"', "1", "null"):
        response = alice.post("/api/v1/tasks", data=body, content_type="application/json")
        assert response.status_code == 422, (body, response.json)
        assert list(response.json["errors"]) == ["body"], body
    assert task_count(app) == 0


def multipart(*fields):
    return (
        b"".join(b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % field for field in fields)
        + b"--B--\r\n"
    )


@pytest.mark.parametrize("url", ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/authorize"])
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    ids=[
        "not-utf8",
        "nul",
        "multipart-not-utf8",
        "multipart-broken",
        "multipart-no-boundary",
        "json-surrogate",
        "json-deep",
        "json-broken",
    ],
    argvalues=[
        (b"grant_type=\xff\xfe&client_id=%ff", "application/x-www-form-urlencoded", None),
        (b"grant_type=authorization_code&code=%00", "application/x-www-form-urlencoded", 422),
        (multipart((b"grant_type", b"\xff\xfe")), "multipart/form-data; boundary=B", None),
        (b"--B\r\nContent-Disposition: form-da", "multipart/form-data; boundary=B", None),
        (b"grant_type=x", "multipart/form-data", None),
        (b'{"grant_type": "\\ud800"}', "application/json", 422),
        (DEEP.encode(), "application/json", 400),
        (b'{"grant_type": ', "application/json", 400),
    ],
)
def test_odd_bodies_to_the_oauth_endpoints_are_clear_errors(client, url, body, content_type, status):
    response = client.post(url, data=body, content_type=content_type)
    assert response.status_code == status if status else 400 <= response.status_code < 500, response.data[:300]
    if url != "/oauth/authorize":  # a page, for people
        assert response.is_json


def test_a_form_of_too_many_parts_is_413_saying_so(client):
    response = client.post(
        "/oauth/token",
        data=multipart(*[(b"f%d" % i, b"x") for i in range(1001)]),
        content_type="multipart/form-data; boundary=B",
    )
    assert response.status_code == 413
    assert response.json["message"] == "The form has more than 1,000 parts."


def test_json_error_bodies_are_json(client):
    response = client.post("/api/v1/tasks", data="{", content_type="application/json")
    assert response.content_type == "application/json"
    assert json.loads(response.data)["status"] == 400
