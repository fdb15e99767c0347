"""Teams on the web pages: the space switcher and the dashboard it steers,
the organisation page (members, invitations by link, worker tokens, the audit
log) and the invitation page, with the roles' limits."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from support.pages import csrf_token
from support.users import ApiUser

from hub.db import db


@pytest.fixture
def acme(app, alice):
    """The organisation Acme (slug ``acme``), alice its owner, and alice's API
    user acting in it."""
    from hub.services import accounts, orgs

    with app.app_context():
        org = orgs.create_org(accounts.get_user("alice"), "Acme", slug="acme")
        key, plain = accounts.create_api_key("alice", space_pk=org.pk)
        org_id = org.id
    return org_id, ApiUser(alice.client, "alice", plain, key.id)


def add(app, username, role):
    from hub.services import orgs

    with app.app_context():
        orgs.add_member(None, "acme", username, role)
        db.session.remove()


def task_titles(html) -> list[str]:
    return re.findall(r'<a href="/tasks/task_\w+">([^<]+)</a>', html)


def working_in(html) -> str:
    """The switcher's "Working in <space> as <role>", as read."""
    return " ".join(re.sub(r"<[^>]+>", " ", re.search(r'id="working-in">(.*?)</span>', html, re.S).group(1)).split())


def switch(client, space_id):
    token = csrf_token(client.get("/dashboard"))
    return client.post("/spaces/switch", data={"space": space_id, "csrf_token": token})


def test_the_switcher_changes_what_the_dashboard_lists_and_refuses_a_space_not_yours(app, acme, alice, bob, sign_in):
    org_id, alice_in_acme = acme
    alice.create_task(title="Personal chore")
    alice_in_acme.create_task(title="Acme release")
    bob.create_task(title="Bob's own")
    client = sign_in("alice")
    html = client.get("/dashboard").get_data(as_text=True)
    assert task_titles(html) == ["Personal chore"] and working_in(html) == "Working in Personal as owner"
    assert "Acme (owner)" in html  # the switcher offers the org

    assert client.post("/spaces/switch", data={"space": org_id}).status_code == 400  # no CSRF token
    switched = switch(client, org_id)
    assert switched.status_code == 302 and switched.headers["Location"] == "/dashboard"
    html = client.get("/dashboard").get_data(as_text=True)
    assert task_titles(html) == ["Acme release"] and working_in(html) == "Working in Acme as owner"
    assert alice_in_acme.key_id in html and alice.key_id not in html  # the keys acting in Acme
    # Other pages show where the dashboard works too, and link the org's page.
    assert working_in(client.get("/admin/").get_data(as_text=True)) == "Working in Acme as owner"

    assert switch(client, personal_space_id(app, "bob")).status_code == 404
    assert switch(client, "sp_nosuchspace").status_code == 404
    assert task_titles(client.get("/dashboard").get_data(as_text=True)) == ["Acme release"]  # unchanged


def personal_space_id(app, username) -> str:
    from hub.models import Space
    from hub.services import accounts

    with app.app_context():
        return db.session.get(Space, accounts.get_user(username).personal_space_pk).id


def test_a_key_made_on_the_dashboard_acts_in_the_chosen_space(acme, alice, sign_in, client):
    org_id, alice_in_acme = acme
    alice_in_acme.create_task(title="Acme release")
    client = sign_in("alice")
    switch(client, org_id)
    created = client.post(
        "/dashboard/api-keys", data={"name": "ci", "csrf_token": csrf_token(client.get("/dashboard"))}
    )
    html = created.get_data(as_text=True)
    assert "acts in Acme" in html
    key = re.search(r'id="new-key-value">(ct_\w+)<', html).group(1)
    listed = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {key}"}).json
    assert [task["title"] for task in listed] == ["Acme release"]


def test_the_org_page_is_for_its_members_only(app, acme, alice, bob, sign_in):
    _, alice_in_acme = acme
    task = alice_in_acme.create_task(title="Acme release")
    assert sign_in("bob").get("/orgs/acme").status_code == 404
    assert sign_in("bob").get("/orgs/" + acme[0]).status_code == 404
    add(app, "bob", "member")
    html = sign_in("bob").get("/orgs/acme").get_data(as_text=True)
    assert 'id="member-alice"' in html and 'id="member-bob"' in html and f"/tasks/{task['id']}" in html
    # A member reads; the members, invitations, worker tokens and log are for admins.
    assert "Create invitation link" not in html and 'id="audit"' not in html and "Change role" not in html
    token = csrf_token(sign_in("bob").get("/orgs/acme"))
    client = sign_in("bob")
    assert client.post("/orgs/acme/invitations", data={"role": "member", "csrf_token": token}).status_code == 403
    assert client.post("/orgs/acme/worker-tokens", data={"name": "box", "csrf_token": token}).status_code == 403
    html = sign_in("alice").get("/orgs/acme").get_data(as_text=True)
    assert "Create invitation link" in html and 'id="audit"' in html and "member.added" in html


def test_an_admin_invites_by_link_and_the_invitee_signs_in_joins_and_sees_the_orgs_tasks(
    app, acme, alice, bob, sign_in, client
):
    _, alice_in_acme = acme
    task = alice_in_acme.create_task(title="Acme release")
    owner = sign_in("alice")
    made = owner.post(
        "/orgs/acme/invitations", data={"role": "member", "csrf_token": csrf_token(owner.get("/orgs/acme"))}
    )
    link = re.search(r'id="new-invite-link">([^<]+)<', made.get_data(as_text=True)).group(1)
    path = urlsplit(link).path
    assert path.startswith("/invitations/") and path not in owner.get("/orgs/acme").get_data(as_text=True)

    anonymous = app.test_client()
    to_login = anonymous.get(path)
    assert to_login.status_code == 302
    login = urlsplit(to_login.headers["Location"])
    assert login.path == "/login" and parse_qs(login.query)["next"] == [path]
    client = sign_in("bob")
    assert client.get(f"/login?{login.query}").headers["Location"] == path  # signed in: back to the invitation
    opened = client.get(path)
    assert opened.headers["Referrer-Policy"] == "no-referrer"  # the URL is the token: never sent on
    page = opened.get_data(as_text=True)
    assert "Acme" in page and 'id="invited-role">member<' in page
    assert f"/tasks/{task['id']}" not in client.get("/dashboard").get_data(as_text=True)

    joined = client.post(path, data={"csrf_token": csrf_token(client.get(path))})
    assert joined.status_code == 302 and joined.headers["Location"] == "/orgs/acme"
    html = client.get("/dashboard").get_data(as_text=True)
    assert working_in(html) == "Working in Acme as member" and task_titles(html) == ["Acme release"]
    assert client.get(f"/tasks/{task['id']}").status_code == 200
    assert client.get(path).status_code == 404  # used: the link is spent
    assert "invitation.accepted" in sign_in("alice").get("/orgs/acme").get_data(as_text=True)


def test_a_viewer_sees_no_create_button_and_a_post_anyway_is_refused(app, acme, bob, sign_in):
    org_id, _ = acme
    add(app, "bob", "viewer")
    client = sign_in("bob")
    assert 'id="add-codebase"' in client.get("/dashboard").get_data(as_text=True)  # own space: bob works there
    switch(client, org_id)
    html = client.get("/dashboard").get_data(as_text=True)
    assert working_in(html) == "Working in Acme as viewer" and 'id="add-codebase"' not in html
    refused = client.post(
        "/dashboard/codebases", data={"name": "sneaky", "csrf_token": csrf_token(client.get("/dashboard"))}
    )
    assert refused.status_code == 403 and "viewer" in refused.get_data(as_text=True)
    owner = sign_in("alice")
    switch(owner, org_id)
    assert "sneaky" not in owner.get("/dashboard").get_data(as_text=True)


def test_an_admin_creates_a_worker_token_for_the_org_that_claims_its_tasks(app, acme, alice, bob, sign_in, client):
    _, alice_in_acme = acme
    alice.create_task(title="Personal chore")
    org_task = alice_in_acme.create_task(title="Acme release")
    add(app, "bob", "admin")
    admin = sign_in("bob")
    made = admin.post(
        "/orgs/acme/worker-tokens", data={"name": "build box", "csrf_token": csrf_token(admin.get("/orgs/acme"))}
    )
    html = made.get_data(as_text=True)
    plain = re.search(r'id="new-worker-token-value">(ctw_\w+)<', html).group(1)
    assert plain not in admin.get("/orgs/acme").get_data(as_text=True) and "build box" in html

    worker = {"Authorization": f"Bearer {plain}"}
    registered = client.post("/api/v1/worker/register", json={"name": "box-1"}, headers=worker)
    assert registered.status_code == 200
    claim = f"/api/v1/worker/{registered.json['worker_id']}/claim"
    claimed = client.post(claim, json={"wait": 0}, headers=worker).json["task"]
    assert claimed["id"] == org_task["id"]
    assert client.post(claim, json={"wait": 0}, headers=worker).json["task"] is None  # never the personal task

    token_id = re.search(r"/orgs/acme/worker-tokens/(wtok_\w+)/revoke", html).group(1)
    admin = sign_in("bob")
    admin.post(f"/orgs/acme/worker-tokens/{token_id}/revoke", data={"csrf_token": csrf_token(admin.get("/orgs/acme"))})
    assert client.post(claim, json={"wait": 0}, headers=worker).status_code == 401
    assert "worker_token.revoked" in sign_in("alice").get("/orgs/acme").get_data(as_text=True)


def test_admins_add_change_and_remove_members_and_revoke_invitations_and_only_owners_set_the_tier(
    app, acme, alice, bob, make_user, sign_in
):
    make_user("carol")
    make_user("dave")
    add(app, "bob", "admin")
    add(app, "carol", "member")
    admin = sign_in("bob")
    html = admin.get("/orgs/acme").get_data(as_text=True)
    assert 'id="org-tier"' not in html and '<option value="owner"' not in html  # an admin hands out no ownership
    token = csrf_token(admin.get("/orgs/acme"))
    admin.post("/orgs/acme/members/carol/role", data={"role": "viewer", "csrf_token": token})
    row = re.search(r'id="member-carol">(.*?)</tr>', admin.get("/orgs/acme").get_data(as_text=True), re.S).group(1)
    assert '<span class="role">viewer</span>' in row
    assert admin.post("/orgs/acme/members/alice/role", data={"role": "member", "csrf_token": token}).status_code == 403
    assert admin.post("/orgs/acme/tier", data={"tier": "pro", "csrf_token": token}).status_code == 403

    admin.post("/orgs/acme/invitations", data={"role": "member", "username": "carol", "csrf_token": token})
    assert "carol is already a member" in admin.get("/orgs/acme").get_data(as_text=True)  # told, nothing made
    made = admin.post("/orgs/acme/invitations", data={"role": "member", "csrf_token": token})
    path = urlsplit(re.search(r'id="new-invite-link">([^<]+)<', made.get_data(as_text=True)).group(1)).path
    invitation_id = re.search(r'id="invitation-(inv_\w+)"', made.get_data(as_text=True)).group(1)
    admin.post(f"/orgs/acme/invitations/{invitation_id}/revoke", data={"csrf_token": token})
    assert f'id="invitation-{invitation_id}"' not in admin.get("/orgs/acme").get_data(as_text=True)
    assert admin.get(path).status_code == 404  # the revoked link opens nothing

    admin.post("/orgs/acme/members", data={"username": "dave", "role": "viewer", "csrf_token": token})
    row = re.search(r'id="member-dave">(.*?)</tr>', admin.get("/orgs/acme").get_data(as_text=True), re.S).group(1)
    assert '<span class="role">viewer</span>' in row  # added at once
    admin.post("/orgs/acme/members", data={"username": "nobody", "role": "member", "csrf_token": token})
    assert "No user named &#39;nobody&#39;." in admin.get("/orgs/acme").get_data(as_text=True)

    admin.post("/orgs/acme/members/carol/remove", data={"csrf_token": token})
    assert 'id="member-carol"' not in admin.get("/orgs/acme").get_data(as_text=True)
    assert sign_in("carol").get("/orgs/acme").status_code == 404

    from hub.services import accounts

    with app.app_context():
        accounts.set_tier("alice", "pro")  # an owner gives the org a tier up to their own
    owner = sign_in("alice")
    token = csrf_token(owner.get("/orgs/acme"))
    above = owner.post("/orgs/acme/tier", data={"tier": "enterprise", "csrf_token": token})
    assert above.status_code == 302  # above the owner's own tier: said on the form, not a 403 page
    assert "Your own tier is &#39;pro&#39;" in owner.get("/orgs/acme").get_data(as_text=True)
    owner.post("/orgs/acme/tier", data={"tier": "pro", "csrf_token": csrf_token(owner.get("/orgs/acme"))})
    html = owner.get("/orgs/acme").get_data(as_text=True)
    assert "Acme is now on the pro tier." in html and "tier.changed" in html and "member.removed" in html


def test_an_owner_deletes_the_org_by_typing_its_slug_and_its_members_lose_it(app, acme, bob, sign_in):
    org_id, alice_in_acme = acme
    add(app, "bob", "admin")
    admin = sign_in("bob")
    switch(admin, org_id)
    token = csrf_token(admin.get("/orgs/acme"))
    assert 'id="delete"' not in admin.get("/orgs/acme").get_data(as_text=True)
    assert admin.post("/orgs/acme/delete", data={"confirm": "acme", "csrf_token": token}).status_code == 403
    owner = sign_in("alice")
    owner.post("/orgs/acme/delete", data={"confirm": "Acme", "csrf_token": token})
    assert "Type acme to delete Acme." in owner.get("/orgs/acme").get_data(as_text=True)  # not deleted
    gone = owner.post("/orgs/acme/delete", data={"confirm": "acme", "csrf_token": token})
    assert gone.status_code == 302 and gone.headers["Location"] == "/dashboard"
    assert owner.get("/orgs/acme").status_code == 404
    assert alice_in_acme.get("/api/v1/tasks").status_code == 401  # the key made for it stops working
    html = sign_in("bob").get("/dashboard").get_data(as_text=True)
    assert working_in(html) == "Working in Personal as owner" and "Acme" not in html  # the switcher let go of it
