"""A person's dashboard, in the space the switcher chose (hub.web.orgs): its
tasks, codebases, webhook subscriptions and their recent deliveries, and the
user's connected apps and API keys acting in it; their organisations."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from hub.errors import Conflict, HubError, ValidationFailed
from hub.services import accounts, codebases, hooks, oauth, orgs, spaces, tasks
from hub.services.tasks import TRANSITIONS
from hub.web import csrf
from hub.web.guard import html_errors, signed_in_user
from hub.web.session import current_web_user, login_required

bp = Blueprint("web_dashboard", __name__)
html_errors(bp)

PAGE_SIZE = 50
CODEBASES_SHOWN = 100
HOOKS_SHOWN = 50
DELIVERIES_PER_HOOK = 5


@bp.get("/")
def home():
    """The address ``up`` prints. A browser (it asks for HTML first) goes to
    its dashboard, or to sign in; an API client gets where things are."""
    if request.accept_mimetypes.best_match(("application/json", "text/html")) == "text/html":
        response = redirect(url_for(".dashboard") if current_web_user() else url_for("web_auth.login"))
    else:
        response = jsonify(
            name="CodeTether Hub",
            api="/api/v1",
            openapi="/openapi.json",
            docs="/docs",
            connectors="/connectors/",
            sign_in="/login",
            dashboard="/dashboard",
        )
    response.vary.add("Accept")
    return response


@bp.get("/dashboard")
@login_required
def dashboard(new_key: str | None = None):
    user = signed_in_user()
    status = request.args.get("status") or None
    if status not in TRANSITIONS:
        status = None
    search = (request.args.get("q") or "").strip()[:200] or None
    items, _ = tasks.list_tasks(user, status=status, search=search, limit=PAGE_SIZE)
    total = tasks.count_tasks(user, status=status, search=search)
    subscriptions = hooks.list_hooks(user)
    shown = subscriptions[:HOOKS_SHOWN]
    space = spaces.get_space(user.space_pk)
    return render_template(
        "dashboard.html",
        user=user,
        space=space,
        working=spaces.allows(user.role, "work"),
        orgs=[(org, role) for org, role in orgs.spaces_of(user) if not org.personal],
        codebases=codebases.list_codebases(user, limit=CODEBASES_SHOWN),
        tasks=items,
        total=total,
        status=status,
        search=search or "",
        statuses=list(TRANSITIONS),
        # Of the user's own, those acting in this space.
        grants=[grant for grant in oauth.list_grants(user) if grant.space_pk == space.pk],
        api_keys=[key for key in accounts.list_api_keys(user) if key.space_pk == space.pk],
        new_key=new_key,
        subscriptions=shown,
        hooks_total=len(subscriptions),
        deliveries=hooks.recent_deliveries(shown, per_hook=DELIVERIES_PER_HOOK),
    )


@bp.post("/dashboard/api-keys")
@login_required
def create_api_key():
    csrf.protect()
    user = signed_in_user()
    try:
        _key, plain = accounts.create_api_key(
            user.username, name=request.form.get("name", "").strip() or None, space_pk=user.space_pk, actor=user
        )
    except HubError as error:
        flash(error.message, "error")
        return redirect(url_for(".dashboard"))
    # Shown on this response only: it is stored hashed and never again readable.
    return dashboard(new_key=plain)


@bp.post("/dashboard/codebases")
@login_required
def create_codebase():
    """A codebase in the space the dashboard works in (a viewer: 403)."""
    csrf.protect()
    name = request.form.get("name", "").strip()
    path = request.form.get("path", "").strip() or None
    try:
        if not 0 < len(name) <= 200:
            raise ValidationFailed("name", "Give the codebase a name of 1 to 200 characters.")
        if path and len(path) > 1024:
            raise ValidationFailed("path", "A path is at most 1024 characters.")
        codebase = codebases.create_codebase(signed_in_user(), name=name, path=path)
    except ValidationFailed as error:
        flash(error.message, "error")
    else:
        flash(f"Added codebase {codebase.name} ({codebase.id}).", "ok")
    return redirect(url_for(".dashboard") + "#codebases")


@bp.post("/dashboard/api-keys/<key_id>/revoke")
@login_required
def revoke_api_key(key_id):
    csrf.protect()
    accounts.revoke_api_key(key_id, signed_in_user())
    flash("API key revoked.", "ok")
    return redirect(url_for(".dashboard") + "#api-keys")


@bp.post("/dashboard/apps/<client_id>/revoke")
@login_required
def revoke_app(client_id):
    csrf.protect()
    user = signed_in_user()
    grant = oauth.revoke_grant(user, client_id, space_pk=user.space_pk)  # the one listed: this space's
    flash(f"Disconnected {grant.client.name}.", "ok")
    return redirect(url_for(".dashboard") + "#apps")


@bp.post("/dashboard/deliveries/<delivery_id>/replay")
@login_required
def replay_delivery(delivery_id):
    csrf.protect()
    try:
        delivery = hooks.replay(signed_in_user(), delivery_id)  # another user's delivery: 404
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(f"Sending {delivery.event.type} {delivery.event.id} to {delivery.subscription.target_url} again.", "ok")
    return redirect(url_for(".dashboard") + "#hooks")
