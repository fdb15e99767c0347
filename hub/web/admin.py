"""Admin pages: users and tiers, OAuth clients, connectors, failed webhook
deliveries (replay), agent workers."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from hub.db import utcnow
from hub.errors import Conflict, HubError
from hub.services import accounts, hooks, oauth, workers
from hub.tiers import TIERS
from hub.web import csrf
from hub.web.guard import admin_required, html_errors
from hub.web.session import current_web_user

bp = Blueprint("web_admin", __name__, url_prefix="/admin")
html_errors(bp)

FAILED_SHOWN = 100
# While a delivery is being sent, its page reloads itself this often (seconds).
REFRESH_SECONDS = 2


def _connectors() -> dict:
    state = current_app.extensions.get("hub_connectors", {})
    return {
        "enabled": sorted(state.get("enabled", {})),
        "disabled": state.get("disabled", []),
        "refused": state.get("refused", {}),
    }


@bp.get("/")
@admin_required
def index(new_client=None, new_secret=None):
    return render_template(
        "admin.html",
        user=current_web_user(),
        users=accounts.list_users(),
        tiers=TIERS,
        clients=oauth.list_clients(),
        connectors=_connectors(),
        new_client=new_client,
        new_secret=new_secret,
        failed=hooks.failed_deliveries(limit=FAILED_SHOWN),
        failed_shown=FAILED_SHOWN,
        workers=workers.list_workers(),
        alive_seconds=workers.alive_seconds(),
    )


@bp.post("/users/<username>/tier")
@admin_required
def set_tier(username):
    csrf.protect()
    user = accounts.set_tier(username, request.form.get("tier", ""), actor=current_web_user())
    flash(f"{user.username} is now on the {user.tier} tier.", "ok")
    return redirect(url_for(".index") + "#users")


@bp.post("/clients")
@admin_required
def create_client():
    csrf.protect()
    uris = request.form.get("redirect_uris", "").split()
    try:
        client, secret = oauth.create_client(
            request.form.get("name", ""), uris, scopes=request.form.get("scopes") or None
        )
    except HubError as error:
        flash(error.message, "error")
        return redirect(url_for(".index") + "#clients")
    # The secret is stored hashed: this response is the only place it appears.
    return index(new_client=client, new_secret=secret)


@bp.post("/clients/<client_id>/revoke")
@admin_required
def revoke_client(client_id):
    csrf.protect()
    oauth.revoke_client(client_id, actor=current_web_user())
    flash("Client revoked; its tokens no longer work.", "ok")
    return redirect(url_for(".index") + "#clients")


@bp.get("/deliveries/<delivery_id>")
@admin_required
def delivery(delivery_id):
    found = hooks.get_delivery(None, delivery_id)
    refresh = None
    if found.status == "sending":  # an attempt is under way: it ends within the timeout
        refresh = REFRESH_SECONDS
    elif found.status == "retrying":  # reload about when the next attempt is due
        due = (found.next_attempt_at - utcnow()).total_seconds() if found.next_attempt_at else 0
        refresh = int(min(30, max(REFRESH_SECONDS, due + 1)))
    return render_template("admin_delivery.html", user=current_web_user(), delivery=found, refresh=refresh)


@bp.post("/deliveries/<delivery_id>/replay")
@admin_required
def replay_delivery(delivery_id):
    csrf.protect()
    try:
        replayed = hooks.replay(None, delivery_id)
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for(".index") + "#deliveries")
    flash(f"Sending {replayed.event.type} {replayed.event.id} to {replayed.subscription.target_url} again.", "ok")
    return redirect(url_for(".delivery", delivery_id=replayed.id))
