"""`codetether-hub orgs`: an admin creates an organisation and manages its
members, roles, tier and invitations from the command line."""

import json

import pytest

# The service's rules run on both databases in test_org_service.py; this is the CLI's translation.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def orgs_cli(app):
    from hub.cli import main

    runner = app.test_cli_runner()

    def run(*args, ok=True):
        result = runner.invoke(main, ["orgs", *args])
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return run


def test_an_admin_runs_an_org_from_the_command_line(app, orgs_cli, make_user):
    ada, ben = make_user("ada"), make_user("ben")
    made = json.loads(orgs_cli("create", "Acme Corp", "--owner", "ada", "--tier", "pro", "--json"))
    assert (made["slug"], made["tier"], made["name"]) == ("acme-corp", "pro", "Acme Corp")
    assert "Created organisation Beta" in orgs_cli("create", "Beta", "--owner", "ben", "--slug", "beta")

    assert "ben is now admin of acme-corp" in orgs_cli("add-member", "acme-corp", "ben", "--role", "admin")
    assert ben.get("/api/v1/orgs/acme-corp").json["role"] == "admin"  # the team sees it at once
    orgs_cli("set-role", "acme-corp", "ben", "owner")
    members = json.loads(orgs_cli("members", "acme-corp", "--json"))["members"]
    assert [(m["username"], m["role"]) for m in members] == [("ada", "owner"), ("ben", "owner")]
    orgs_cli("remove-member", "acme-corp", "ada")
    assert ada.get("/api/v1/orgs/acme-corp").status_code == 404

    assert "enterprise" in orgs_cli("set-tier", "acme-corp", "enterprise")  # a hub admin sets any tier
    listed = json.loads(orgs_cli("list", "--json"))["orgs"]
    assert [(o["slug"], o["tier"], o["members"]) for o in listed] == [
        ("acme-corp", "enterprise", 1),
        ("beta", "free", 1),
    ]
    mine = json.loads(orgs_cli("list", "--user", "ben", "--json"))["orgs"]
    assert [(o["kind"], o["role"]) for o in mine] == [("personal", "owner"), ("org", "owner"), ("org", "owner")]
    assert "acme-corp" in orgs_cli("list") and "(personal)" in orgs_cli("list", "--user", "ben")

    from sqlalchemy import select

    from hub.db import db
    from hub.models import AuditEntry

    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.pk)).all()
        assert {(e.actor, e.credential) for e in entries} == {(None, "cli")}
        assert [e.action for e in entries if e.target == "ada"] == ["member.removed"]


def test_an_invitation_from_the_command_line(orgs_cli, make_user):
    make_user("ada")
    eve = make_user("eve")
    orgs_cli("create", "Acme", "--owner", "ada")
    invitation = json.loads(orgs_cli("invite", "acme", "--role", "viewer", "--username", "eve", "--json"))
    assert invitation["url"].endswith("/invitations/" + invitation["token"])
    joined = eve.post("/api/v1/invitations/accept", json={"token": invitation["token"]})
    assert joined.status_code == 200 and joined.json["role"] == "viewer"
    shown = orgs_cli("invite", "acme")
    assert "not shown again" in shown and "/invitations/cti_" in shown


def test_refusals_are_one_line_and_change_nothing(orgs_cli, make_user):
    make_user("ada")
    orgs_cli("create", "Acme", "--owner", "ada")
    assert "No organisation 'nope'" in orgs_cli("add-member", "nope", "ada", ok=False)
    assert "needs an owner" in orgs_cli("remove-member", "acme", "ada", ok=False)
    assert "needs an owner" in orgs_cli("set-role", "acme", "ada", "viewer", ok=False)
    assert "slug" in orgs_cli("create", "X", "--owner", "ada", "--slug", "Bad Slug", ok=False)
    assert "taken" in orgs_cli("create", "Acme", "--owner", "ada", ok=False)
    assert "No user named 'nobody'" in orgs_cli("create", "Y", "--owner", "nobody", ok=False)
    assert "already a member" in orgs_cli("add-member", "acme", "ada", ok=False)
    listed = json.loads(orgs_cli("list", "--json"))["orgs"]
    assert [(o["slug"], o["tier"], o["members"]) for o in listed] == [("acme", "free", 1)]


def test_deleting_an_org_from_the_command_line(orgs_cli, make_user):
    ada = make_user("ada")
    orgs_cli("create", "Acme", "--owner", "ada")
    assert "Aborted" in orgs_cli("delete", "acme", ok=False)  # asked, and no answer is no
    assert ada.get("/api/v1/orgs/acme").status_code == 200
    assert "Deleted Acme" in orgs_cli("delete", "acme", "--yes")
    assert ada.get("/api/v1/orgs/acme").status_code == 404
    assert json.loads(orgs_cli("list", "--json")) == {"orgs": []}
