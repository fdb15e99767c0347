"""Isolation between two organisations and a personal space on every route,
read from the app itself (its url_map), not from a hand list.

Org A (alice owner, bob member), org B (carol owner) and alice's personal
space each hold a task (with a callback), a codebase, a conversation, a hook
and a delivery. For every route that names one of these objects in its
path, a credential acting in another space gets 404 and changes nothing,
and one acting in the object's space is served (bob's org-A key on alice's
org-A task). Every other route's expectation comes from its method: a GET
never answers another space's object; a POST without an object in its path
is listed with what it is given (a foreign codebase: refused) or why it is
checked elsewhere. A new route without an expectation fails, saying so.
The protocol endpoints (MCP, A2A) are driven through their official
clients against a live hub at the end."""

from __future__ import annotations

import re

import pytest
from support.routes import routes as api_routes
from support.users import ApiUser

SPACES = ("A", "B", "P")  # org A, org B, alice's personal space
# The credentials, by the space they act in: alice's org-A key, bob's org-A key, carol's org-B key, alice's own.
KEYS = {"alice@A": "A", "bob@A": "A", "carol@B": "B", "alice@P": "P"}
SERVED_BY = {"A": "bob@A", "B": "carol@B", "P": "alice@P"}  # a teammate, not always the object's creator
ORG_SERVED_BY = {"A": "alice@A", "B": "carol@B"}  # an organisation's settings: its owner


def key_reaches(who, kind, space):
    """Whether key ``who`` may reach ``space``'s object of this kind: only
    its own space's objects; an organisation (its settings, members and
    invitations) also from its member's personal key, as the person (never
    from a key made for another organisation)."""
    if kind == "org":
        return who.split("@")[0] in MEMBERS[space] and KEYS[who] in (space, "P")
    return KEYS[who] == space


# Who is a member where (pages act in the task's space for any member of it).
MEMBERS = {"A": {"alice", "bob"}, "B": {"carol"}, "P": {"alice"}}

# A path parameter -> the object it names ("org": an organisation's id or slug; a personal space has none).
OBJECT_PARAMS = {
    "task_id": "task",
    "hook_id": "hook",
    "delivery_id": "delivery",
    "conversation_id": "conversation",
    "org": "org",
}
# Path parameters naming something inside the object (a member, an invitation): only the refusal is
# checked with these (from outside the space, nothing there is reachable), the object's own tests serve them.
FILLERS = {
    "username": "bob",
    "invitation_id": "inv_none",
    "token_id": "wt_none",
    "link_id": "sl_none",
    "key_id": "key_none",  # a member's key acting in the org (its page lists them for admins)
    "client_id": "cli_none",  # a member's connected app in the org
}

# Routes left out of this test, by prefix or key, and why.
ELSEWHERE_PREFIXES = {
    "/api/v1/worker/": "the worker API: tests/workers (a worker token claims only its space's tasks)",
    "/admin/": "hub admins only (is_admin): every space by design",
}
ELSEWHERE = {
    ("GET", "/invitations/<token>"): "an invitation link: its unguessable token is the credential (tests/orgs)",
    ("POST", "/invitations/<token>"): "an invitation link: its unguessable token is the credential (tests/orgs)",
    ("GET", "/share/<token>"): "a share link: its unguessable token is the credential (tests/web/test_share_links.py)",
    ("DELETE", "/api/v1/worker-tokens/<token_id>"): "a space's worker tokens: tests/workers",
    ("DELETE", "/api/v1/me/grants/<client_id>"): "a connected app per (user, client, space): tests/oauth",
    ("POST", "/dashboard/apps/<client_id>/revoke"): "a connected app per (user, client, space): tests/oauth",
    ("POST", "/dashboard/api-keys/<key_id>/revoke"): "the person's own keys: tests/web",
    ("GET", "/.well-known/oauth-protected-resource/connectors/<key>"): "public metadata, no object",
    ("GET", "/static/<path:filename>"): "static files",
    ("GET", "/docs/assets/<path:filename>"): "static files",
}
# Routes reached with a credential and no object in the path, by what they are given.
# "list": a GET; its answer names no object of another space.
# ("refers", object, where): the object's id in the query ("query") or the body ("json").
# ("create", body): a create naming another space's codebase: refused (422), nothing made.
# ("protocol", why): checked through its official client below.
# ("none", why): nothing of a space to cross.
NO_OBJECT_IN_PATH = {
    ("POST", "/api/v1/tasks"): ("create", {"title": "t", "prompt": "p"}),
    ("POST", "/api/v1/messages"): ("create", {"message": "m"}),
    ("POST", "/api/v1/orgs"): ("none", "makes an organisation of the credential's user: tests/orgs"),
    ("POST", "/api/v1/invitations/accept"): ("none", "an invitation's token is what reaches its org: tests/orgs"),
    ("POST", "/api/v1/worker-tokens"): ("none", "makes a worker token for the credential's space: tests/workers"),
    ("POST", "/api/v1/codebases"): ("none", "makes a codebase in the credential's space: the lists show it stays"),
    ("POST", "/api/v1/hooks"): ("create", {"event": "task.created", "target_url": "http://127.0.0.1:9/h"}),
    ("GET", "/connectors/mcp"): ("protocol", "test_mcp_and_a2a_answer_only_their_space"),
    ("POST", "/connectors/mcp"): ("protocol", "test_mcp_and_a2a_answer_only_their_space"),
    ("DELETE", "/connectors/mcp"): ("protocol", "an MCP session's end"),
    ("POST", "/connectors/a2a"): ("protocol", "test_mcp_and_a2a_answer_only_their_space"),
}
for _connector in ("zapier", "example", "mcp"):
    NO_OBJECT_IN_PATH |= {
        ("POST", f"/connectors/{_connector}/actions/create_task"): ("create", {"title": "t", "prompt": "p"}),
        ("POST", f"/connectors/{_connector}/actions/send_message"): ("create", {"message": "m"}),
        ("POST", f"/connectors/{_connector}/actions/cancel_task"): ("refers", "task", "json"),
    }
_WAITS = {"callback_url": "http://127.0.0.1:9/z"}  # Zapier's waiting actions answer through a callback
NO_OBJECT_IN_PATH |= {
    ("GET", "/connectors/zapier/searches/find_task"): ("refers", "task", "query"),
    ("GET", "/connectors/example/searches/find_task"): ("refers", "task", "query"),
    ("POST", "/connectors/zapier/actions/create_task_and_wait"): ("create", {"title": "t", "prompt": "p", **_WAITS}),
    ("POST", "/connectors/zapier/actions/send_message_and_wait"): ("create", {"message": "m", **_WAITS}),
    ("POST", "/connectors/mcp/actions/get_task"): ("refers", "task", "json"),
}
PAGE_LISTS = {"/dashboard"}  # pages without an object in the path that list a space's objects

# A body the route accepts, so that a refusal is about the object, not the body.
BODIES = {
    ("POST", "/api/v1/tasks/<task_id>/messages"): {"message": "an answer"},
    ("POST", "/tasks/<task_id>/reply"): {"message": "an answer"},
    ("POST", "/orgs/<org>/members/<username>/role"): {"role": "admin"},
    ("POST", "/orgs/<org>/tier"): {"tier": "pro"},
    ("PATCH", "/api/v1/orgs/<org>"): {"tier": "pro"},
    ("POST", "/api/v1/orgs/<org>/members"): {"username": "bob", "role": "viewer"},
    ("PATCH", "/api/v1/orgs/<org>/members/<username>"): {"role": "admin"},
}
HOOK_URL = "http://127.0.0.1:9/hook"


def checked_routes(app):
    """(method, rule, params) of every route this test must cover: the API and
    connector routes, and the pages naming an object."""
    found = {route.key for route in api_routes(app)}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.rule in PAGE_LISTS or rule.arguments or (method, rule.rule) in found:
                yield method, rule.rule, set(rule.arguments)


@pytest.fixture(autouse=True)
def loopback_hooks(set_hub_env):
    """Hooks and callbacks here point at 127.0.0.1:9 (nothing is sent)."""
    set_hub_env(HUB_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8")


@pytest.fixture
def world(app, client):
    """The three spaces, their members' keys, and an object of each kind in each."""
    from hub.db import db, new_id
    from hub.models import Delivery, Membership, Subscription
    from hub.services import accounts, events, spaces

    with app.app_context():
        for name in ("alice", "bob", "carol"):
            accounts.create_user(name, tier="enterprise")  # no request limit in the way
        alice, bob, carol = (accounts.get_user(n) for n in ("alice", "bob", "carol"))
        org_a = spaces.new_space("org", "Org A", slug="org-a", tier="enterprise")
        spaces.furnish(org_a, alice)
        db.session.add(Membership(space_pk=org_a.pk, user_pk=bob.pk, role="member"))
        org_b = spaces.new_space("org", "Org B", slug="org-b", tier="enterprise")
        spaces.furnish(org_b, carol)
        db.session.commit()
        space_pk = {"A": org_a.pk, "B": org_b.pk, "P": alice.personal_space_pk}
        keys = {}
        for who, space in KEYS.items():
            username = who.split("@")[0]
            made, plain = accounts.create_api_key(username, space_pk=space_pk[space])
            keys[who] = ApiUser(client, username, plain, made.id)
    objects: dict[str, dict[str, str]] = {}
    for space in SPACES:
        maker = keys[{"A": "alice@A", "B": "carol@B", "P": "alice@P"}[space]]
        task = maker.create_task(title=f"task of {space}", callback_url=f"http://127.0.0.1:9/cb{space}")
        codebase = maker.post("/api/v1/codebases", json={"name": f"repo of {space}"})
        assert codebase.status_code == 201, codebase.json
        conversation = f"conv-{space}-{new_id('', 6)}"
        sent = maker.post("/api/v1/messages", json={"message": f"hello {space}", "conversation_id": conversation})
        assert sent.status_code == 201, sent.json
        # Org A's hook is bob's: his key, serving A's objects, may delete it (a member deletes their own).
        hook_maker = keys["bob@A"] if space == "A" else maker
        hook = hook_maker.post("/api/v1/hooks", json={"event": "task.created", "target_url": HOOK_URL})
        assert hook.status_code == 201, hook.json
        objects[space] = {
            "task": task["id"],
            "callback": maker.get(f"/api/v1/tasks/{task['id']}/callback").json["id"],
            "codebase": codebase.json["id"],
            "conversation": conversation,
            "hook": hook.json["id"],
        }
    with app.app_context():
        for space in SPACES:
            hook = db.session.scalar(db.select(Subscription).where(Subscription.id == objects[space]["hook"]))
            event_id = events.record(hook.user_pk, hook.space_pk, "task.created", {"id": objects[space]["task"]})
            event_pk = db.session.scalar(db.text("select pk from events where id = :id"), {"id": event_id})
            delivery = Delivery(
                id=new_id("dlv_"), event_pk=event_pk, subscription_pk=hook.pk, status="failed", attempts=1
            )
            db.session.add(delivery)
            objects[space]["delivery"] = delivery.id
        db.session.commit()
    objects["A"]["org"], objects["B"]["org"] = "org-a", "org-b"
    return {"keys": keys, "objects": objects, "space_pk": space_pk}


def state(app):
    """Everything a refused call must leave as it was."""
    from hub.db import db

    queries = {
        "tasks": "select id, status from tasks order by id",
        "hooks": "select id, deleted_at, disabled_at from subscriptions order by id",
        "deliveries": "select id, status, attempts from deliveries order by id",
        "messages": "select count(*) from messages",
        "codebases": "select count(*) from codebases",
        "conversations": "select count(*) from conversations",
        "events": "select count(*) from events",
        "members": "select space_pk, user_pk, role from memberships order by space_pk, user_pk",
        "spaces": "select pk, tier, deleted_at from spaces order by pk",
        "invitations": "select count(*) from invitations",
        "share_links": "select count(*) from share_links",
    }
    with app.app_context():
        found = {name: [tuple(row) for row in db.session.execute(db.text(sql))] for name, sql in queries.items()}
        db.session.remove()
    return found


def foreign_ids(objects, space):
    """The ids of the objects of every space but ``space`` (not the
    conversations: a conversation id is the caller's choice, any space may use it)."""
    return {
        value
        for other, found in objects.items()
        if other != space
        for kind, value in found.items()
        if kind not in ("conversation", "org")  # an org is named in its members' space switcher
    }


def classify(method, rule, params):
    """This route's expectation, from its path parameters and method; None: left out (with its reason)."""
    if rule.startswith(tuple(ELSEWHERE_PREFIXES)) or (method, rule) in ELSEWHERE:
        return None
    objects = [OBJECT_PARAMS[p] for p in params if p in OBJECT_PARAMS]
    unknown = params - set(OBJECT_PARAMS) - set(FILLERS)
    assert not unknown, (
        f"{method} {rule}: path parameter(s) {sorted(unknown)} name no known object: "
        "add them to OBJECT_PARAMS, or the route to ELSEWHERE with the reason"
    )
    if objects:
        return ("object", objects[0])
    if (method, rule) in NO_OBJECT_IN_PATH:
        return NO_OBJECT_IN_PATH[(method, rule)]
    if method == "GET":
        return ("list",)
    pytest.fail(
        f"{method} {rule} names no object in its path: add its expectation to NO_OBJECT_IN_PATH in "
        "tests/orgs_isolation/test_space_isolation.py (what it is given, or why it is checked elsewhere)"
    )


# Web sessions, by the space the dashboard's switcher chose (None: the person's own, empty space).
WEB = {"alice@P": "P", "bob@A": "A", "bob@own": None, "carol@B": "B"}


def sessions(app, space_pk):
    """A web session per entry of WEB, each on a client of its own."""
    from flask import session as signed

    from hub.db import db
    from hub.models import User
    from hub.web import session as web_session

    made = {}
    for who, space in WEB.items():
        client = app.test_client()
        with app.test_request_context():
            web_session.sign_in(db.session.scalar(db.select(User).where(User.username == who.split("@")[0])))
            values = dict(signed)
        with client.session_transaction() as session:
            session.update(values)
            if space is not None:
                session["space_pk"] = space_pk[space]
        page = client.get("/dashboard")
        assert page.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        made[who] = (client, token)
    return made


def page_serves(who, rule, space):
    """Whether session ``who`` may reach ``space``'s object on page ``rule``:
    a task's pages open for every member of its space (the team's task link),
    the other pages act in the space the session chose."""
    if rule.startswith(("/tasks/", "/orgs/")):
        return who.split("@")[0] in MEMBERS[space]
    return WEB[who] == space


def call_api(caller, method, rule, params, body=None, query=None):
    return caller.client.open(
        re.sub(r"<(?:\w+:)?(\w+)>", lambda m: params[m.group(1)], rule),
        method=method,
        headers=caller.headers,
        json=body if body is not None else ({} if method in ("POST", "PUT", "PATCH", "DELETE") else None),
        query_string=query,
    )


def call_page(session, method, rule, params, body=None):
    client, token = session
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: params[m.group(1)], rule)
    if method == "GET":
        response = client.get(url)
        if response.is_streamed:  # the live page's stream: its status is enough, its place is freed
            response.close()
        return response
    return client.open(url, method=method, data={"csrf_token": token, **(body or {})})


def is_page(rule):
    return not rule.startswith(("/api/", "/connectors/"))


def served(response):
    return response.status_code not in (401, 403, 404) and response.status_code < 500


# Destructive calls last, so that the reads before them find the objects as made.
ORDER = {"GET": 0, "POST": 1, "DELETE": 2}


def test_every_route_naming_an_object_answers_404_from_another_space(app, world, subtests):
    keys, objects = world["keys"], world["objects"]
    web = sessions(app, world["space_pk"])
    checked = 0
    for method, rule, params in sorted(checked_routes(app), key=lambda r: (ORDER.get(r[0], 1), r[1])):
        expectation = classify(method, rule, params)
        if expectation is None or expectation[0] != "object":
            continue
        checked += 1
        body = BODIES.get((method, rule))
        for space in SPACES:
            if expectation[1] not in objects[space]:
                continue  # an organisation's route: a personal space is none
            values = {p: objects[space][OBJECT_PARAMS[p]] if p in OBJECT_PARAMS else FILLERS[p] for p in params}
            # Only a refusal is checked where the path names something made up inside the object, or for
            # a change to an organisation (its own tests check who may make it).
            refusal_only = bool(params & set(FILLERS)) or (expectation[1] == "org" and method != "GET")
            with subtests.test(f"{method} {rule} on {space}'s {expectation[1]}"):
                before = state(app)
                if is_page(rule):
                    for who, session in web.items():
                        if not page_serves(who, rule, space):
                            refused = call_page(session, method, rule, values, body)
                            assert refused.status_code == 404, (who, refused.status_code)
                    assert state(app) == before, f"a refused {method} {rule} changed something"
                    for who, session in web.items():
                        if page_serves(who, rule, space) and not refusal_only:
                            answer = call_page(session, method, rule, values, body)
                            assert served(answer), (who, answer.status_code)
                    continue
                for who in KEYS:
                    if key_reaches(who, expectation[1], space):
                        continue
                    refused = call_api(keys[who], method, rule, values, body)
                    assert refused.status_code == 404, (who, refused.status_code, refused.get_data(as_text=True))
                    named = foreign_ids(objects, KEYS[who]) - set(values.values())  # the 404 names the id asked
                    assert not named & set(re.findall(r"[\w-]+", refused.text)), refused.text
                assert state(app) == before, f"a refused {method} {rule} changed something"
                if refusal_only:
                    continue
                by = (ORG_SERVED_BY if expectation[1] == "org" else SERVED_BY)[space]
                answer = call_api(keys[by], method, rule, values, body)
                assert served(answer), (by, answer.status_code, answer.get_data(as_text=True))
    assert checked >= 10, "the routes naming an object were not found"


def test_no_list_or_reference_crosses_spaces(app, world, subtests):
    keys, objects = world["keys"], world["objects"]
    web = sessions(app, world["space_pk"])
    for method, rule, params in sorted(checked_routes(app)):
        expectation = classify(method, rule, params)
        if expectation is None or expectation[0] in ("object", "protocol", "none"):
            continue
        with subtests.test(f"{method} {rule}: {expectation[0]}"):
            before = state(app)
            if is_page(rule):  # a page listing the chosen (here: personal) space's objects
                for who, session in web.items():
                    text = call_page(session, method, rule, {}).get_data(as_text=True)
                    seen = foreign_ids(objects, WEB[who]) & set(re.findall(r"[\w-]+", text))
                    assert not seen, (who, seen)
                continue
            for who, space in KEYS.items():
                before, others = state(app), foreign_ids(objects, space)
                if expectation[0] == "list":
                    answer = call_api(keys[who], method, rule, {})
                    if answer.status_code == 403 and who == "bob@A":  # an admin's list (alice@A's is read)
                        assert answer.json["code"] == "insufficient_role", answer.json
                        continue
                    assert answer.status_code == 200, (who, answer.status_code, answer.get_data(as_text=True))
                    assert not others & set(re.findall(r"[\w-]+", answer.text)), who
                elif expectation[0] == "refers":
                    kind, where = expectation[1], expectation[2]
                    for other in sorted(SPACES, key=lambda o: o == space):  # its own space's object last
                        value = {f"{kind}_id": objects[other][kind]}
                        body, query = (value, None) if where == "json" else (None, value)
                        answer = call_api(keys[who], method, rule, {}, body, query)
                        if other == space:
                            assert served(answer), (who, answer.status_code, answer.get_data(as_text=True))
                            assert objects[other][kind] in answer.text, (who, answer.text)
                            continue
                        assert not (served(answer) and objects[other][kind] in answer.text), (who, other, answer.text)
                        assert state(app) == before, f"{who}'s refused {method} {rule} changed {other}'s objects"
                elif expectation[0] == "create":
                    for other in SPACES:
                        if other == space:
                            continue
                        body = {**expectation[1], "codebase_id": objects[other]["codebase"]}
                        answer = call_api(keys[who], method, rule, {}, body)
                        assert answer.status_code == 422, (who, other, answer.status_code, answer.text)
                        assert "codebase_id" in answer.json["errors"], answer.json
                        assert state(app) == before


def test_an_idempotency_key_is_the_spaces_it_was_used_in(world):
    """The same person sending the same create with the same Idempotency-Key
    through her personal key and her org key makes a task in each space: the
    org key is never answered the personal task (nor the other way round)."""
    keys = world["keys"]
    body, header = {"title": "Same request", "prompt": "twice"}, {"Idempotency-Key": "k-1"}
    personal = keys["alice@P"].post("/api/v1/tasks", json=body, headers=header)
    in_org = keys["alice@A"].post("/api/v1/tasks", json=body, headers=header)
    assert personal.status_code == in_org.status_code == 201, (personal.json, in_org.json)
    assert in_org.json["id"] != personal.json["id"]
    assert keys["bob@A"].get(f"/api/v1/tasks/{in_org.json['id']}").status_code == 200  # the org's own task
    again = keys["alice@P"].post("/api/v1/tasks", json=body, headers=header)
    assert again.json["id"] == personal.json["id"]  # a retry in the same space is still a replay


def test_a_conversation_id_used_in_two_spaces_is_two_conversations(world):
    """Conversation ids are the caller's (a Slack thread's ts): org A sending
    to an id org B uses starts A's own conversation; B's stays as it was."""
    keys, objects = world["keys"], world["objects"]
    theirs = objects["B"]["conversation"]
    before = keys["carol@B"].get(f"/api/v1/conversations/{theirs}/messages").json
    sent = keys["alice@A"].post("/api/v1/messages", json={"message": "hi from A", "conversation_id": theirs})
    assert sent.status_code == 201, sent.json
    assert keys["carol@B"].get(f"/api/v1/conversations/{theirs}/messages").json == before
    mine = keys["bob@A"].get(f"/api/v1/conversations/{theirs}/messages").json
    assert [m["content"] for m in mine] == ["hi from A"], mine


@pytest.fixture(scope="module")
def live_spaces(request):
    """A live hub (gunicorn, as deployed) with the three spaces, a task made
    in each through REST, and a key acting in each: for the protocol endpoints."""
    import httpx
    from support.module_hub import module_hub

    from hub.db import db
    from hub.models import Membership
    from hub.services import accounts, spaces

    with module_hub(request, "isolation-hub") as hub:
        with hub.app.app_context():
            for name in ("alice", "bob", "carol"):
                accounts.create_user(name, tier="enterprise")
            alice, bob, carol = (accounts.get_user(n) for n in ("alice", "bob", "carol"))
            org_a = spaces.new_space("org", "Org A", slug="org-a", tier="enterprise")
            spaces.furnish(org_a, alice)
            db.session.add(Membership(space_pk=org_a.pk, user_pk=bob.pk, role="member"))
            org_b = spaces.new_space("org", "Org B", slug="org-b", tier="enterprise")
            spaces.furnish(org_b, carol)
            db.session.commit()
            space_pk = {"A": org_a.pk, "B": org_b.pk, "P": alice.personal_space_pk}
            keys = {
                who: accounts.create_api_key(who.split("@")[0], space_pk=space_pk[space])[1]
                for who, space in KEYS.items()
            }
        tasks = {}
        for space, who in {"A": "alice@A", "B": "carol@B", "P": "alice@P"}.items():
            made = httpx.post(
                hub.url("/api/v1/tasks"),
                json={"title": f"Task of {space}", "prompt": "look"},
                headers={"Authorization": f"Bearer {keys[who]}"},
            )
            assert made.status_code == 201, made.text
            tasks[space] = made.json()["id"]
        yield hub, keys, tasks


def test_mcp_and_a2a_answer_only_their_space(live_spaces):
    """MCP's get_task and find_tasks, A2A's GetTask and ListTasks, through the
    official clients: another space's task is not found and never listed;
    a teammate's task in the same org is (bob reads alice's org-A task)."""
    import httpx
    import httpx2
    from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
    from a2a.types import GetTaskRequest, ListTasksRequest
    from a2a.utils.errors import TaskNotFoundError
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from support import run_async

    hub, keys, tasks = live_spaces

    async def mcp(who):
        headers = {"Authorization": f"Bearer {keys[who]}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http,
            streamable_http_client(hub.url("/connectors/mcp"), http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for space, task_id in tasks.items():
                got = await session.call_tool("get_task", {"task_id": task_id})
                if space == KEYS[who]:
                    assert not got.is_error and got.structured_content["id"] == task_id, (who, got.content)
                else:
                    assert got.is_error, (who, space, got.structured_content)
            for tool in ("find_tasks", "find_task"):
                found = await session.call_tool(tool, {})
                assert [t["id"] for t in found.structured_content["items"]] == [tasks[KEYS[who]]], (who, tool)

    async def a2a(who):
        headers = {"Authorization": f"Bearer {keys[who]}"}
        async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=120)) as http:
            card = await A2ACardResolver(http, hub.base).get_agent_card()
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
            try:
                for space, task_id in tasks.items():
                    if space == KEYS[who]:
                        assert (await client.get_task(GetTaskRequest(id=task_id))).id == task_id
                    else:
                        with pytest.raises(TaskNotFoundError):
                            await client.get_task(GetTaskRequest(id=task_id))
                listed = await client.list_tasks(ListTasksRequest())
                assert [t.id for t in listed.tasks] == [tasks[KEYS[who]]], who
            finally:
                await client.close()

    for who in KEYS:
        run_async(mcp, who)
        run_async(a2a, who)


def test_a_removed_member_s_org_key_stops_at_once_in_every_process(app, world, other):
    """bob's org-A key is read (and cached) in two processes; his removal from
    org A ends it in both at once (401), while his personal space is still his."""
    from hub.services import orgs

    bob = world["keys"]["bob@A"]
    task = world["objects"]["A"]["task"]
    assert bob.get(f"/api/v1/tasks/{task}").status_code == 200
    assert other.get(f"/api/v1/tasks/{task}", headers=bob.headers).status_code == 200  # cached there too
    with app.app_context():
        orgs.remove_member(None, "org-a", "bob")
    assert bob.get(f"/api/v1/tasks/{task}").status_code == 401
    assert other.get(f"/api/v1/tasks/{task}", headers=bob.headers).status_code == 401


def test_a_spaces_events_go_to_its_own_hooks_only(app, world):
    """Every space has a task.created hook (the world's). A task made in org A
    by alice is delivered to org A's hook alone: not to her personal hook,
    nor to org B's; a task in her personal space to her personal hook alone."""
    from hub.db import db
    from hub.models import Delivery, Subscription
    from hub.webhooks import delivery

    keys, objects = world["keys"], world["objects"]
    with app.app_context():  # the world's own events: out of the way
        db.session.execute(db.text("UPDATE events SET dispatched_at = created_at"))
        db.session.commit()
    made = {"A": keys["alice@A"].create_task()["id"], "P": keys["alice@P"].create_task()["id"]}
    with app.app_context():
        while delivery.fan_out(app.config)[0]:  # the delivery worker's fan-out, run here
            pass
        db.session.commit()
        for space, task_id in made.items():
            hooks = db.session.scalars(
                db.select(Subscription.id)
                .join(Delivery, Delivery.subscription_pk == Subscription.pk)
                .where(Delivery.event.has(task_id=task_id), Subscription.task_id.is_(None))
            ).all()
            assert hooks == [objects[space]["hook"]], (space, hooks)


def test_an_mcp_session_opened_in_one_space_is_not_found_from_another(live_spaces):
    """A stateful MCP session (2025-11-25) belongs to its user in the space
    their credential acted in: alice's org-A key cannot use the session her
    personal key opened (it would get the personal space's notifications)."""
    import httpx

    hub, keys, _tasks = live_spaces
    url = hub.url("/connectors/mcp")
    accept = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}

    def post(who, message, session=None):
        headers = accept | {"Authorization": f"Bearer {keys[who]}"} | ({"Mcp-Session-Id": session} if session else {})
        return httpx.post(url, json={"jsonrpc": "2.0", **message}, headers=headers, timeout=30)

    opened = post("alice@P", {"id": 1, "method": "initialize", "params": hello})
    assert opened.status_code == 200, opened.text
    session = opened.headers["Mcp-Session-Id"]
    listing = {"id": 2, "method": "tools/list", "params": {}}
    assert post("alice@P", listing, session).status_code == 200
    assert post("alice@A", listing, session).status_code == 404
