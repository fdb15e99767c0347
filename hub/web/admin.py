"""Admin pages: users and tiers, OAuth clients, connectors."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from hub.errors import HubError
from hub.models.accounts import TIERS
from hub.services import accounts, oauth
from hub.web import csrf
from hub.web.guard import admin_required, html_errors
from hub.web.session import current_web_user

bp = Blueprint("web_admin", __name__, url_prefix="/admin")
html_errors(bp)


def _connectors() -> dict:
    state = current_app.extensions.get("hub_connectors", {})
    return {"enabled": sorted(state.get("enabled", {})), "disabled": state.get("disabled", []),
            "refused": state.get("refused", {})}


@bp.get("/")
@admin_required
def index(new_client=None, new_secret=None):
    return render_template("admin.html", user=current_web_user(), users=accounts.list_users(), tiers=TIERS,
                           clients=oauth.list_clients(), connectors=_connectors(),
                           new_client=new_client, new_secret=new_secret)


@bp.post("/users/<username>/tier")
@admin_required
def set_tier(username):
    csrf.protect()
    user = accounts.set_tier(username, request.form.get("tier", ""))
    flash(f"{user.username} is now on the {user.tier} tier.", "ok")
    return redirect(url_for(".index") + "#users")


@bp.post("/clients")
@admin_required
def create_client():
    csrf.protect()
    uris = request.form.get("redirect_uris", "").split()
    try:
        client, secret = oauth.create_client(request.form.get("name", ""), uris,
                                             scopes=request.form.get("scopes") or None)
    except HubError as error:
        flash(error.message, "error")
        return redirect(url_for(".index") + "#clients")
    # The secret is stored hashed: this response is the only place it appears.
    return index(new_client=client, new_secret=secret)


@bp.post("/clients/<client_id>/revoke")
@admin_required
def revoke_client(client_id):
    csrf.protect()
    oauth.revoke_client(client_id)
    flash("Client revoked; its tokens no longer work.", "ok")
    return redirect(url_for(".index") + "#clients")
