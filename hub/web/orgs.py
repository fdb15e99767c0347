"""Pages for teams: the space switcher every signed-in page shows, the
organisation page (members, invitations, the org's tasks, webhooks, worker
tokens, connected apps and API keys, audit log) and the page an invitation link opens.

The rules (who may invite, change a role, create a worker token) are the
services'; a refusal renders as the error page (403, 404), a bad value as a
flash on the page it came from."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from sqlalchemy import select

from hub.db import db
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.models import Space, User
from hub.models.spaces import ROLES
from hub.services import accounts, audit, hooks, oauth, orgs, spaces, tasks, workers
from hub.tiers import TIERS
from hub.web import csrf
from hub.web.guard import html_errors, signed_in_user
from hub.web.session import choose_space, login_required

bp = Blueprint("web_orgs", __name__)
html_errors(bp)

TASKS_SHOWN = 20
AUDIT_PAGE_SIZE = 50
# A bad value in a form: told on the page it came from. Forbidden and NotFound
# are not caught: they render as the 403 and 404 pages.
TOLD = (ValidationFailed, Conflict)


@bp.app_context_processor
def _switcher() -> dict:
    return {"space_switcher": space_switcher}


def space_switcher(user: User) -> dict:
    """For base.html: the space the dashboard works in (the switcher's choice,
    whatever space this page acts in) and the user's spaces to switch to."""
    mine = orgs.spaces_of(user)
    chosen = session.get("space_pk") or user.personal_space_pk
    current = next(((space, role) for space, role in mine if space.pk == chosen), mine[0])
    return {"current": current, "spaces": mine}


def space_label(space: Space) -> str:
    return "Personal" if space.personal else space.name


@bp.app_template_filter("space_label")
def _space_label(space: Space) -> str:
    return space_label(space)


@bp.post("/spaces/switch")
@login_required
def switch():
    csrf.protect()
    user = signed_in_user()
    space = db.session.scalar(select(Space).where(Space.id == request.form.get("space", "")))
    if space is None:
        raise NotFound("No such space among yours.")
    choose_space(user, space.pk)  # a space the user is not a member of: 404
    flash(f"Working in {space_label(space)} as {user.role}.", "ok")
    return redirect(url_for("web_dashboard.dashboard"))


@bp.post("/orgs")
@login_required
def create():
    csrf.protect()
    user = signed_in_user()
    try:
        space = orgs.create_org(user, request.form.get("name", "").strip(), slug=request.form.get("slug") or None)
    except TOLD as error:
        flash(error.message, "error")
        return redirect(url_for("web_dashboard.dashboard") + "#orgs")
    choose_space(user, space.pk)  # the new org is where the creator works next
    flash(f"Created {space.name}; you are its owner. The dashboard now works in it.", "ok")
    return redirect(url_for(".org_page", org=space.slug or space.id))


def _enter(org: str) -> Space:
    """The org, with the signed-in user acting in it (not a member: 404)."""
    user = signed_in_user()
    space = orgs.get_org(user, org)
    standing = spaces.standing(user, space.pk)
    if standing is None:  # left it since get_org looked
        raise NotFound(f"No organisation '{org}'.")
    spaces.act_in(user, space.pk, standing)
    return space


@bp.get("/orgs/<org>")
@login_required
def org_page(org, new_invite: tuple | None = None, new_token: str | None = None):
    space = _enter(org)
    user = signed_in_user()
    managing = spaces.allows(user.role, "manage")
    audit_page = request.args.get("audit_page", "0")
    audit_page_no = int(audit_page) if audit_page.isdigit() and len(audit_page) < 7 else 0
    recent, _ = tasks.list_tasks(user, limit=TASKS_SHOWN)
    return render_template(
        "org.html",
        user=user,
        org=space,
        ref=space.slug or space.id,
        role=user.role,
        managing=managing,
        owning=spaces.allows(user.role, "own"),
        members=orgs.members(user, org),
        invitations=orgs.invitations(user, org) if managing else [],
        new_invite=new_invite,
        tasks=recent,
        total=tasks.count_tasks(user),
        hooks=hooks.list_hooks(user),
        worker_tokens=workers.list_tokens(user) if managing else [],
        new_token=new_token,
        apps=oauth.space_grants(user) if managing else [],
        api_keys=accounts.space_api_keys(user) if managing else [],
        audit=audit.entries(user, space.pk, page=audit_page_no, limit=AUDIT_PAGE_SIZE) if managing else None,
        audit_page=audit_page_no,
        roles=_grantable(user.role),
        tiers=TIERS,
    )


def _grantable(role: str) -> list[str]:
    """The roles this user may hand out: an owner any, an admin all but owner."""
    return list(ROLES) if role == "owner" else [r for r in ROLES if r != "owner"]


def _back(org: str, anchor: str):
    return redirect(url_for(".org_page", org=org) + anchor)


@bp.post("/orgs/<org>/members")
@login_required
def add_member(org):
    """Add someone with an account here at once, by username."""
    csrf.protect()
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "member")
    try:
        orgs.add_member(signed_in_user(), org, username, role)
    except TOLD as error:
        flash(error.message, "error")
    else:
        flash(f"Added {username} as {role}.", "ok")
    return _back(org, "#members")


@bp.post("/orgs/<org>/members/<username>/role")
@login_required
def set_role(org, username):
    csrf.protect()
    role = request.form.get("role", "")
    try:
        orgs.set_role(signed_in_user(), org, username, role)
    except TOLD as error:
        flash(error.message, "error")
    else:
        flash(f"{username} is now {role}.", "ok")
    return _back(org, "#members")


@bp.post("/orgs/<org>/members/<username>/remove")
@login_required
def remove_member(org, username):
    csrf.protect()
    user = signed_in_user()
    try:
        orgs.remove_member(user, org, username)  # a member may remove themselves: leave
    except TOLD as error:
        flash(error.message, "error")
        return _back(org, "#members")
    if username == user.username:
        flash(f"You left {org}.", "ok")
        return redirect(url_for("web_dashboard.dashboard"))
    flash(f"Removed {username}.", "ok")
    return _back(org, "#members")


@bp.post("/orgs/<org>/invitations")
@login_required
def invite(org):
    """Invite by link (anyone holding it) or for one named user; the link is
    shown on this response only (only its hash is stored)."""
    csrf.protect()
    user = signed_in_user()
    username = request.form.get("username", "").strip() or None
    try:
        invitation, plain = orgs.invite(user, org, request.form.get("role", "member"), username=username)
    except TOLD as error:
        flash(error.message, "error")
        return _back(org, "#invite")
    link = current_app.config["HUB_BASE_URL"] + url_for(".invitation", token=plain)
    return org_page(org, new_invite=(invitation, link))


@bp.post("/orgs/<org>/invitations/<invitation_id>/revoke")
@login_required
def revoke_invitation(org, invitation_id):
    csrf.protect()
    orgs.revoke_invitation(signed_in_user(), org, invitation_id)
    flash("Invitation revoked: its link no longer works.", "ok")
    return _back(org, "#invitations")


@bp.post("/orgs/<org>/tier")
@login_required
def set_tier(org):
    csrf.protect()
    try:
        space = orgs.set_tier(signed_in_user(), org, request.form.get("tier", ""))
    except TOLD as error:
        flash(error.message, "error")
    except Forbidden as error:
        if error.code != "tier_not_allowed":
            raise  # not an owner: the 403 page
        flash(error.message, "error")  # above the owner's own tier: said on the form
    else:
        flash(f"{space.name} is now on the {space.tier} tier.", "ok")
    return _back(org, "#tier")


@bp.post("/orgs/<org>/delete")
@login_required
def delete(org):
    """Owners only, and only with the org's slug typed again: its members lose
    it and every credential made for it stops working."""
    csrf.protect()
    user = signed_in_user()
    space = orgs.get_org(user, org)
    if request.form.get("confirm", "").strip() != (space.slug or space.id):
        flash(f"Type {space.slug or space.id} to delete {space.name}.", "error")
        return _back(org, "#delete")
    orgs.delete_org(user, org)
    flash(f"Deleted {space.name}.", "ok")
    return redirect(url_for("web_dashboard.dashboard"))


@bp.post("/orgs/<org>/worker-tokens")
@login_required
def create_worker_token(org):
    """A token whose workers claim only this org's tasks; shown once."""
    csrf.protect()
    _enter(org)
    _token, plain = workers.create_space_token(signed_in_user(), request.form.get("name", "").strip() or "worker")
    return org_page(org, new_token=plain)


@bp.post("/orgs/<org>/worker-tokens/<token_id>/revoke")
@login_required
def revoke_worker_token(org, token_id):
    csrf.protect()
    _enter(org)
    workers.revoke_space_token(signed_in_user(), token_id)
    flash("Worker token revoked: its workers can no longer claim tasks.", "ok")
    return _back(org, "#workers")


@bp.post("/orgs/<org>/apps/<client_id>/<username>/disconnect")
@login_required
def disconnect_app(org, client_id, username):
    """An admin disconnects a member's app in this org only."""
    csrf.protect()
    _enter(org)
    grant = oauth.disconnect_member_app(signed_in_user(), client_id, username)
    flash(f"Disconnected {grant.client.name} of {username} from {org}: its tokens stopped working here.", "ok")
    return _back(org, "#apps")


@bp.post("/orgs/<org>/api-keys/<key_id>/revoke")
@login_required
def revoke_api_key(org, key_id):
    """An admin revokes any member's key acting in this org."""
    csrf.protect()
    _enter(org)
    key = accounts.revoke_space_api_key(signed_in_user(), key_id)
    flash(f"Revoked {key.user.username}'s key {key.prefix}…: it no longer works.", "ok")
    return _back(org, "#apps")


@bp.get("/invitations/<token>")
@login_required
def invitation(token):
    """What a link invites to; signing in first comes back here (``next``)."""
    found = orgs.invitation_for(token)  # used, revoked, expired or unknown: 404
    return render_template(
        "invitation.html", user=signed_in_user(), invitation=found, org=spaces.get_space(found.space_pk), token=token
    )


@bp.post("/invitations/<token>")
@login_required
def accept(token):
    csrf.protect()
    user = signed_in_user()
    try:
        membership = orgs.accept_invitation(user, token)  # unknown, revoked, another's: 404; expired: 410
    except Conflict as error:  # used meanwhile, or already a member
        flash(error.message, "error")
        return redirect(url_for("web_dashboard.dashboard"))
    choose_space(user, membership.space_pk)
    space = spaces.get_space(membership.space_pk)
    flash(f"Welcome to {space.name}: you are a {membership.role}. The dashboard now works in it.", "ok")
    return redirect(url_for(".org_page", org=space.slug or space.id))
