"""The generated app's triggers: the seed's three keep their keys, fields,
labels and types; Task Started, Task Cancelled and New Message join them;
every task trigger takes the Codebase and Agent Type filters and hands them
to its hook and its list; a hook can take only the agent's messages. (The
runtime drives them in test_zapier_new_triggers.py.)"""

import dataclasses

import pytest

from connectors.base.validation import InvalidConnector, validate
from connectors.zapier.declarations import connector as zapier

# The seed's fields as a Zap maps them: key, label, type (never to change).
SEED_FIELDS = {
    "new_task": [
        ("id", "Event ID", "string"),
        ("task_id", "Task ID", "string"),
        ("title", "Title", "string"),
        ("status", "Status", "string"),
        ("codebase_id", "Codebase ID", "string"),
        ("created_at", "Created At", "datetime"),
        ("agent_type", "Agent Type", "string"),
    ],
    "task_completed": [
        ("id", "Event ID", "string"),
        ("task_id", "Task ID", "string"),
        ("title", "Title", "string"),
        ("result", "Result", "string"),
        ("duration_seconds", "Duration (Seconds)", "number"),
        ("completed_at", "Completed At", "datetime"),
    ],
    "task_failed": [
        ("id", "Event ID", "string"),
        ("task_id", "Task ID", "string"),
        ("error", "Error", "string"),
        ("retry_count", "Retry Count", "integer"),
        ("failed_at", "Failed At", "datetime"),
    ],
}
CONTEXT = ["url", "conversation_id", "external_id", "metadata", "codebase_id", "agent_type"]
TASK_TRIGGERS = {
    "new_task": "task.created",
    "task_started": "task.started",
    "task_completed": "task.completed",
    "task_failed": "task.failed",
    "task_cancelled": "task.cancelled",
    "task_needs_input": "task.input_required",
}


@pytest.fixture
def app_definition(client):
    return client.get("/connectors/zapier/definition.json").json


def _keys(operation):
    return [f["key"] for f in operation["outputFields"]]


def test_the_seed_triggers_keep_their_fields_and_gain_the_tasks_context(app_definition):
    triggers = app_definition["triggers"]
    visible = {key for key, t in triggers.items() if not t["display"].get("hidden")}
    assert visible == {*TASK_TRIGGERS, "new_message"}
    for key, seed in SEED_FIELDS.items():
        fields = triggers[key]["operation"]["outputFields"]
        assert [(f["key"], f["label"], f["type"]) for f in fields[: len(seed)]] == seed, key
    assert _keys(triggers["new_task"]["operation"])[7:] == ["prompt", *CONTEXT[:4]]  # its seed has codebase, agent
    assert _keys(triggers["task_failed"]["operation"])[5:] == ["title", "prompt", *CONTEXT]
    assert _keys(triggers["task_completed"]["operation"])[6:] == CONTEXT
    assert _keys(triggers["task_started"]["operation"]) == ["id", "task_id", "title", "started_at", *CONTEXT]
    assert _keys(triggers["task_cancelled"]["operation"]) == ["id", "task_id", "title", "cancelled_at", *CONTEXT]
    for key in TASK_TRIGGERS:
        operation = triggers[key]["operation"]
        labels = {f["key"]: f for f in operation["outputFields"]}
        assert labels["url"]["label"] == "URL" and labels["external_id"]["label"] == "External ID"
        assert "type" not in labels["metadata"]  # an object: Zapier offers each entry (metadata__channel)
        assert set(operation["sample"]) == set(labels), key


def test_every_task_trigger_takes_codebase_and_agent_type_and_hands_them_to_its_hook_and_list(app_definition):
    for key, event in TASK_TRIGGERS.items():
        operation = app_definition["triggers"][key]["operation"]
        inputs = {f["key"]: f for f in operation["inputFields"]}
        assert list(inputs) == ["codebase_id", "agent_type"], key
        assert inputs["codebase_id"]["dynamic"] == "codebase_choices.id.name"
        assert [c["value"] for c in inputs["agent_type"]["choices"]] == ["build", "plan", "general", "explore"]
        assert not any(f["required"] for f in inputs.values()) and all(f["helpText"] for f in inputs.values())
        subscribe = operation["performSubscribe"]
        assert subscribe["body"] == {
            "event": event,
            "target_url": "{{bundle.targetUrl}}",
            "format": f"zapier.{key}",
            "codebase_id": "{{bundle.inputData.codebase_id}}",
            "agent_type": "{{bundle.inputData.agent_type}}",
        }
        assert subscribe["removeMissingValuesFrom"] == {"body": True}  # left empty: no filter
        assert operation["performList"]["params"] == {
            "limit": 10,
            "codebase_id": "{{bundle.inputData.codebase_id}}",
            "agent_type": "{{bundle.inputData.agent_type}}",
        }


def test_new_message_subscribes_to_the_agents_messages_with_messages_read(app_definition):
    operation = app_definition["triggers"]["new_message"]["operation"]
    assert operation["performSubscribe"]["body"] == {
        "event": "message.created",
        "target_url": "{{bundle.targetUrl}}",
        "format": "zapier.new_message",
        "role": "assistant",
    }
    assert "inputFields" not in operation and operation["performList"]["params"] == {"limit": 10}
    assert _keys(operation) == [
        "id",
        "message_id",
        "conversation_id",
        "content",
        "task_id",
        "created_at",
        "conversation_external_id",
    ]
    assert "messages:read" in app_definition["authentication"]["oauth2Config"]["scope"].split()


def test_the_trigger_list_refuses_a_filter_value_naming_the_field(make_user):
    user = make_user("dana")
    response = user.get("/connectors/zapier/triggers/new_task", query_string={"agent_type": "painter"})
    assert response.status_code == 422 and list(response.json["errors"]) == ["agent_type"], response.json


def test_the_trigger_list_applies_codebase_and_agent_type(make_user):
    """(On both databases: the filters read the event's stored JSON.)"""
    user = make_user("gina", tier="enterprise")
    app = user.post("/api/v1/codebases", json={"name": "app"}).json["codebase_id"]
    plan = user.create_task(agent_type="plan", codebase_id=app)["id"]
    build = user.create_task(agent_type="build", codebase_id=app)["id"]
    global_plan = user.create_task(agent_type="plan")["id"]

    def listed(**filters):
        return [i["task_id"] for i in user.get("/connectors/zapier/triggers/new_task", query_string=filters).json]

    assert listed() == listed(codebase_id="", agent_type="") == [global_plan, build, plan]
    assert listed(agent_type="plan") == [global_plan, plan]
    assert listed(codebase_id=app) == [build, plan]
    assert listed(codebase_id=app, agent_type="plan") == [plan]
    assert listed(codebase_id="elsewhere") == []


def test_the_trigger_list_of_agent_replies_leaves_out_the_users_messages(app, make_user):
    """(The runtime test sees the same through Zapier.)"""
    user = make_user("erin", scopes=["messages:read", "messages:write"])
    sent = user.post("/api/v1/messages", json={"message": "hello", "conversation_id": "t-1"})
    assert sent.status_code == 201
    assert user.get("/connectors/zapier/triggers/new_message").json == []
    from hub.db import db
    from hub.models import User
    from hub.services import conversations, tasks

    with app.app_context():
        task = tasks.get_task(db.session.query(User).filter_by(username="erin").one(), sent.json["task_id"])
        tasks.transition(task, "running")
        tasks.transition(task, "completed", result="hi there")
        conversations.append_reply(task)
        db.session.commit()
        db.session.remove()
    [reply] = user.get("/connectors/zapier/triggers/new_message").json
    assert (reply["content"], reply["conversation_id"], reply["task_id"]) == ("hi there", "t-1", sent.json["task_id"])


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"match": (("status", "failed"),)}, "filters ['status'] are not hook filters"),
        ({"event": None, "formatter": None, "list": lambda user, **kw: []}, "filters (input_schema, match) need an"),
        ({"input_schema": dict}, "input_schema is not a marshmallow Schema class"),
    ],
)
def test_a_trigger_filter_the_hooks_cannot_apply_is_refused(changes, problem):
    triggers = (dataclasses.replace(zapier.trigger("new_task"), **changes), *zapier.triggers[1:])
    with pytest.raises(InvalidConnector) as refused:
        validate(dataclasses.replace(zapier, triggers=triggers), "zapier")
    assert any(problem in p for p in refused.value.problems), refused.value.problems


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "task.created", "role": "assistant"}, "role"),  # a task is not a message
        ({"event": "message.created", "role": "robot"}, "role"),
    ],
)
def test_a_hook_role_is_for_messages_and_names_a_role(make_user, body, field):
    user = make_user("fred", scopes=["messages:read", "tasks:read"])
    response = user.post("/api/v1/hooks", json={"target_url": "http://127.0.0.1:9/hook", **body})
    assert response.status_code == 422 and list(response.json["errors"]) == [field], response.json
    assert user.get("/api/v1/hooks").json == []


def test_each_triggers_own_format_gives_what_the_zapier_format_gave(app_ctx, make_user):
    """The app subscribes each hook with its trigger's format
    (``zapier.<trigger>``); hooks made before it keep ``zapier``: both send a
    Zap the same item for the same event."""
    from sqlalchemy import select

    from hub.db import db
    from hub.models import Event, User
    from hub.services import conversations, questions, tasks
    from hub.webhooks import formatters

    user = make_user("hana", tier="enterprise")
    sent = user.post("/api/v1/messages", json={"message": "hi", "conversation_id": "t-9"}).json
    owner = db.session.query(User).filter_by(username="hana").one()
    done = tasks.get_task(owner, sent["task_id"])
    tasks.transition(done, "running")
    tasks.transition(done, "completed", result="hello")
    conversations.append_reply(done)
    tasks.transition(tasks.get_task(owner, user.create_task(title="f")["id"]), "running")
    failing = tasks.get_task(owner, user.create_task(title="x")["id"])
    tasks.transition(failing, "running")
    tasks.transition(failing, "failed", error="broke")
    tasks.transition(tasks.get_task(owner, user.create_task(title="c")["id"]), "cancelled")
    asking = tasks.get_task(owner, user.create_task(title="q")["id"])
    tasks.transition(asking, "running")
    questions.ask(asking, "Which branch?")
    db.session.commit()
    for trigger in zapier.triggers:
        if not trigger.event:
            continue
        events = db.session.scalars(select(Event).where(Event.type == trigger.event)).all()
        assert events, trigger.event
        for event in events:
            own = formatters.payload(f"zapier.{trigger.key}", event)
            assert own == formatters.payload("zapier", event), trigger.key
            assert set(own) == set(trigger.output_schema().fields), trigger.key
