"""Each role's allowed and refused actions in one organisation, read from the
app's routes: every route that changes something (any method but GET) is
refused to a viewer (403 ``insufficient_role``, nothing changed) unless
listed here with its reason; a member may do all of them but the ones
listed as an admin's (or an owner's); an admin all but the owner's. A member
deletes their own hook but not another's, which an admin may."""

from __future__ import annotations

import re

import pytest
from support.routes import UNSET
from support.routes import routes as api_routes
from support.users import ApiUser

# The SQLite pass is enough: the role is checked before any query of the route's own.
pytestmark = pytest.mark.sqlite_only

ROLES = ("owner", "admin", "member", "viewer")
LEFT_OUT = {
    "/api/v1/worker/": "the worker API: a worker token, no role (tests/workers)",
}
# Writes any member of the org may make, even a viewer, and why.
ANY_ROLE = {
    ("POST", "/api/v1/orgs"): "a new organisation of one's own",
    ("POST", "/api/v1/invitations/accept"): "joining another organisation through its invitation",
    ("DELETE", "/api/v1/me/grants/<client_id>"): "disconnecting one's own app",
    ("POST", "/connectors/mcp"): "the MCP endpoint: each tool call is checked (a read tool for a viewer)",
    ("DELETE", "/connectors/mcp"): "ending one's MCP session",
    ("POST", "/connectors/a2a"): "the A2A endpoint: each method is checked (GetTask for a viewer)",
    ("POST", "/connectors/mcp/actions/get_task"): "a read (MCP's get_task as an action)",
}
# Writes an admin (manage) or only an owner (own) may make.
NEEDS = {
    ("POST", "/api/v1/worker-tokens"): "admin",
    ("DELETE", "/api/v1/worker-tokens/<token_id>"): "admin",
    ("POST", "/api/v1/orgs/<org>/members"): "admin",
    ("PATCH", "/api/v1/orgs/<org>/members/<username>"): "admin",
    ("DELETE", "/api/v1/orgs/<org>/members/<username>"): "admin",
    ("POST", "/api/v1/orgs/<org>/invitations"): "admin",
    ("DELETE", "/api/v1/orgs/<org>/invitations/<invitation_id>"): "admin",
    ("PATCH", "/api/v1/orgs/<org>"): "owner",
    ("DELETE", "/api/v1/orgs/<org>"): "owner",
}
# Reads only an admin may make.
READS_NEED_ADMIN = {
    ("GET", "/api/v1/audit"): "the org's audit log",
    ("GET", "/api/v1/worker-tokens"): "the org's worker tokens",
    ("GET", "/api/v1/orgs/<org>/invitations"): "pending invitations hold who is invited",
}
_WAIT = {"callback_url": "http://127.0.0.1:9/z"}
BODIES = {
    ("POST", "/api/v1/tasks"): {"title": "t", "prompt": "p"},
    ("POST", "/api/v1/messages"): {"message": "m"},
    ("POST", "/api/v1/codebases"): {"name": "repo"},
    ("POST", "/api/v1/hooks"): {"event": "task.created", "target_url": "http://127.0.0.1:9/h"},
    ("POST", "/api/v1/tasks/<task_id>/messages"): {"message": "an answer"},
    ("POST", "/api/v1/worker-tokens"): {"name": "w"},
    ("POST", "/api/v1/orgs/<org>/members"): {"username": "nobody", "role": "viewer"},
    ("PATCH", "/api/v1/orgs/<org>/members/<username>"): {"role": "admin"},
    ("POST", "/api/v1/orgs/<org>/invitations"): {"role": "member"},
    ("PATCH", "/api/v1/orgs/<org>"): {"tier": "pro"},
}
for _connector in ("zapier", "example", "mcp"):
    BODIES |= {
        ("POST", f"/connectors/{_connector}/actions/create_task"): {"title": "t", "prompt": "p"},
        ("POST", f"/connectors/{_connector}/actions/send_message"): {"message": "m"},
        ("POST", f"/connectors/{_connector}/actions/cancel_task"): {"task_id": "<task_id>"},
    }
BODIES |= {
    ("POST", "/connectors/zapier/actions/create_task_and_wait"): {"title": "t", "prompt": "p", **_WAIT},
    ("POST", "/connectors/zapier/actions/send_message_and_wait"): {"message": "m", **_WAIT},
}


@pytest.fixture(autouse=True)
def loopback_hooks(set_hub_env):
    """Hooks here point at 127.0.0.1:9 (nothing is sent)."""
    set_hub_env(HUB_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8")


@pytest.fixture
def org(app, client):
    """Org T: olive owner, adam admin, mia member, vic viewer, a key each acting
    in it; a task, hook, delivery and conversation of mia's there."""
    from hub.db import db, new_id
    from hub.models import Delivery, Membership, Subscription
    from hub.services import accounts, events, spaces

    names = dict(zip(ROLES, ("olive", "adam", "mia", "vic"), strict=True))
    with app.app_context():
        for name in names.values():
            accounts.create_user(name, tier="enterprise")
        space = spaces.new_space("org", "Team", slug="team", tier="enterprise")
        spaces.furnish(space, accounts.get_user("olive"))
        for role in ROLES[1:]:
            db.session.add(Membership(space_pk=space.pk, user_pk=accounts.get_user(names[role]).pk, role=role))
        db.session.commit()
        keys = {}
        for role, name in names.items():
            made, plain = accounts.create_api_key(name, space_pk=space.pk)
            keys[role] = ApiUser(client, name, plain, made.id)
    mia = keys["member"]
    task = mia.create_task(title="mia's")["id"]
    hook = mia.post("/api/v1/hooks", json=BODIES[("POST", "/api/v1/hooks")])
    assert hook.status_code == 201, hook.json
    assert mia.post("/api/v1/messages", json={"message": "hi", "conversation_id": "c-1"}).status_code == 201
    with app.app_context():
        subscription = db.session.scalar(db.select(Subscription).where(Subscription.id == hook.json["id"]))
        event_id = events.record(subscription.user_pk, space.pk, "task.created", {"id": task})
        event_pk = db.session.scalar(db.text("select pk from events where id = :id"), {"id": event_id})
        delivery = Delivery(id=new_id("dlv_"), event_pk=event_pk, subscription_pk=subscription.pk, status="failed")
        db.session.add(delivery)
        db.session.commit()
        params = {
            "task_id": task,
            "hook_id": hook.json["id"],
            "delivery_id": delivery.id,
            "conversation_id": "c-1",
            "org": "team",
            "username": "nobody",
            "invitation_id": "inv_none",
            "token_id": "wt_none",
            "link_id": "sl_none",
            "client_id": "cli_none",
            "worker_id": "wrk_none",
        }
    return keys, params


def state(app):
    """What a refused change must leave as it was."""
    from hub.db import db

    queries = (
        "select id, status from tasks order by id",
        "select id, deleted_at, disabled_at from subscriptions order by id",
        "select id, status, attempts from deliveries order by id",
        "select count(*) from messages",
        "select count(*) from codebases",
        "select count(*) from worker_tokens",
        "select space_pk, user_pk, role from memberships order by space_pk, user_pk",
        "select pk, tier, deleted_at from spaces order by pk",
        "select count(*) from invitations",
    )
    with app.app_context():
        found = [[tuple(row) for row in db.session.execute(db.text(sql))] for sql in queries]
        db.session.remove()
    return found


def call(caller, method, rule, params):
    body = BODIES.get((method, rule), {})
    body = {name: params["task_id"] if value == "<task_id>" else value for name, value in body.items()}
    return caller.client.open(
        re.sub(r"<(?:\w+:)?(\w+)>", lambda m: params[m.group(1)], rule),
        method=method,
        headers=caller.headers,
        json=body if method != "GET" else None,
    )


def role_routes(app):
    """The routes a user's credential reaches, by what they change."""
    for route in api_routes(app):
        if route.required is UNSET or route.rule.startswith(tuple(LEFT_OUT)):
            continue
        yield route.method, route.rule


def needed(method, rule):
    """The weakest role a route needs, from its method and the tables above."""
    if method == "GET":
        return "admin" if (method, rule) in READS_NEED_ADMIN else "viewer"
    if (method, rule) in ANY_ROLE:
        return "viewer"
    return NEEDS.get((method, rule), "member")


def refused_for_role(response):
    return response.status_code == 403 and response.json.get("code") == "insufficient_role"


def test_each_role_is_refused_exactly_what_its_role_does_not_allow(app, org, subtests):
    keys, params = org
    # Reads first, destructive writes last (a cancel, a DELETE), so that each call finds the objects as made.
    found = sorted(role_routes(app), key=lambda r: ({"GET": 0, "DELETE": 2}.get(r[0], 1), r[1]))
    assert any(method != "GET" for method, _ in found)
    for method, rule in found:
        weakest = needed(method, rule)
        with subtests.test(f"{method} {rule} needs {weakest}"):
            for role in reversed(ROLES):  # viewer first: each refusal before anyone changes anything
                if role == "owner":
                    continue  # the owner may do everything: a DELETE of the org would end the test's org
                allowed = ROLES.index(role) <= ROLES.index(weakest)
                before = state(app)
                answer = call(keys[role], method, rule, params)
                if allowed:
                    assert not refused_for_role(answer), (role, answer.json)
                    assert answer.status_code != 403, (role, answer.status_code, answer.get_data(as_text=True))
                else:
                    assert refused_for_role(answer), (
                        f"{method} {rule} is not refused to a {role} (needs {weakest}): refuse it in its service "
                        "with spaces.require_role, or list the route in ANY_ROLE, NEEDS or READS_NEED_ADMIN with why",
                        answer.status_code,
                        answer.get_data(as_text=True),
                    )
                    assert answer.json["role"] == role
                    assert state(app) == before, f"a refused {method} {rule} changed something"


def test_a_member_deletes_their_own_hook_an_admin_anyones(app, org):
    keys, params = org
    hook = {"event": "task.created", "target_url": "http://127.0.0.1:9/adam"}
    adams = keys["admin"].post("/api/v1/hooks", json=hook).json["id"]
    mias = params["hook_id"]

    refused = keys["member"].delete(f"/api/v1/hooks/{adams}")
    assert refused.status_code == 403 and refused.json["code"] == "insufficient_role", refused.json
    assert keys["admin"].get(f"/api/v1/hooks/{adams}").json["status"] != "deleted"
    assert keys["viewer"].delete(f"/api/v1/hooks/{mias}").status_code == 403
    assert keys["member"].delete(f"/api/v1/hooks/{mias}").status_code == 200  # her own
    assert keys["admin"].delete(f"/api/v1/hooks/{adams}").status_code == 200
    other = keys["member"].post("/api/v1/hooks", json=hook).json["id"]
    assert keys["admin"].delete(f"/api/v1/hooks/{other}").status_code == 200  # an admin: anyone's
    listed = {h["id"] for h in keys["viewer"].get("/api/v1/hooks").json}
    assert not listed & {adams, mias, other}


def test_a2a_tells_a_viewer_they_may_read_but_not_send(app, org):
    """Through the A2A endpoint (its JSON-RPC, as a client sends it): a viewer
    reads the org's task but a SendMessage is refused and makes nothing; a
    member's is a new task of the org."""
    keys, params = org
    headers = {"A2A-Version": "1.0"}

    def rpc(role, method, rpc_params):
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": rpc_params}
        answer = keys[role].post("/connectors/a2a", json=body, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.json

    message = {"role": "ROLE_USER", "messageId": "m1", "parts": [{"text": "hi"}], "contextId": "ctx-roles"}
    send = {"message": message, "configuration": {"returnImmediately": True}}
    assert rpc("viewer", "GetTask", {"id": params["task_id"]})["result"]["id"] == params["task_id"]
    before = state(app)
    refused = rpc("viewer", "SendMessage", send)["error"]
    assert "'member' or above" in refused["message"], refused
    assert refused["data"][0]["metadata"] == {"role": "viewer", "required_role": "member"}, refused
    assert state(app) == before
    made = rpc("member", "SendMessage", send)["result"]["task"]
    assert rpc("viewer", "GetTask", {"id": made["id"]})["result"]["id"] == made["id"]  # the org's task
