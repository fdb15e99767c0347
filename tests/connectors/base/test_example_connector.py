"""A third party's connector, installed with pip from tests/connectors/
example_connector, is discovered, mounted and passes the conformance kit."""

from typing import ClassVar

from connectors.base.testing import ConnectorConformance


class TestExampleConnector(ConnectorConformance):
    connector_key = "example"
    inputs: ClassVar[dict] = {"ask": {"question": "Why is CI red?"}, "recent_tasks": {"limit": 5}}


def test_it_is_an_installed_distribution_not_part_of_the_hub():
    from importlib.metadata import distribution

    dist = distribution("codetether-example-connector")
    assert any(ep.name == "example" and ep.group == "codetether_hub.connectors" for ep in dist.entry_points)


def test_its_routes_work_for_a_user(alice):
    asked = alice.post("/connectors/example/actions/ask", json={"question": "What does this repo do?"})
    assert asked.status_code == 201 and asked.json["status"] == "pending"
    assert alice.get(f"/api/v1/tasks/{asked.json['id']}").json["agent_type"] == "general"
    recent = alice.get("/connectors/example/searches/recent_tasks?limit=1").json
    assert [t["id"] for t in recent] == [asked.json["id"]]
    alice.post(f"/api/v1/tasks/{asked.json['id']}/cancel")
    cancelled = alice.get("/connectors/example/triggers/task_cancelled").json
    assert [c["task_id"] for c in cancelled] == [asked.json["id"]]
