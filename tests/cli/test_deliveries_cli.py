"""`codetether-hub deliveries`: list failed deliveries, replay one or all of
a hook's, against a real worker and receiver."""

import json

import pytest
from click.testing import CliRunner
from support.delivery import subscribe, wait_delivery
from support.receiver import Answer

from hub.cli import main

pytestmark = pytest.mark.usefixtures("webhook_settings")


@pytest.fixture(autouse=True)
def patient_sender(webhook_settings, monkeypatch):
    """The receiver answers 500 at once, but on a busy 2-core machine its
    answer took more than the delivery tests' 1 s timeout, which counts as no
    answer at all (last_status_code None): this module is about the CLI."""
    webhook_settings["HUB_WEBHOOK_TIMEOUT"] = "10"
    monkeypatch.setenv("HUB_WEBHOOK_TIMEOUT", "10")


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_list_failed_and_replay(alice, receiver, delivery_worker):
    receiver.plan("/hook", *[Answer(500)] * 8)
    hook = subscribe(alice, receiver)
    alice.create_task(title="one")
    alice.create_task(title="two")
    wait_delivery(alice, hook["id"], lambda d: len(d) == 2 and all(x["status"] == "failed" for x in d))

    failed = json.loads(run("deliveries", "list", "--failed", "--json"))["deliveries"]
    assert len(failed) == 2 and {f["hook_id"] for f in failed} == {hook["id"]}
    assert all(f["attempts"] == 4 and f["last_status_code"] == 500 for f in failed)
    assert failed[0]["id"] in run("deliveries", "list", "--failed")

    sent = len(receiver.received())
    assert failed[0]["id"] in run("deliveries", "replay", failed[0]["id"])
    wait_delivery(alice, hook["id"], lambda d: sorted(x["status"] for x in d) == ["delivered", "failed"])
    assert receiver.received()[sent].headers["webhook-id"] == failed[0]["event_id"]

    replayed = json.loads(run("deliveries", "replay", "--subscription", hook["id"], "--json"))["replayed"]
    assert replayed == [failed[1]["id"]]
    wait_delivery(alice, hook["id"], lambda d: all(x["status"] == "delivered" for x in d))
    assert json.loads(run("deliveries", "list", "--failed", "--json"))["deliveries"] == []
    # --failed is a filter: without it, every delivery, newest first.
    listed = json.loads(run("deliveries", "list", "--json"))["deliveries"]
    assert sorted(d["id"] for d in listed) == sorted(f["id"] for f in failed)
    assert {d["status"] for d in listed} == {"delivered"}
    assert listed[0]["updated_at"] >= listed[1]["updated_at"]
    assert "delivered" in run("deliveries", "list")


def test_replay_needs_one_target(hub_env):
    result = CliRunner().invoke(main, ["deliveries", "replay"])
    assert result.exit_code == 2 and "DELIVERY_ID or --subscription" in result.output
