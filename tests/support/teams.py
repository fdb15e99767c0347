"""Organisations for tests, made through the orgs service as the CLI makes them."""

from __future__ import annotations


def org_with(app, owner: str, *, tier: str = "enterprise", **members: str) -> int:
    """An organisation "Acme" (slug ``acme``) owned by ``owner`` with
    ``members`` (username: role); its space's pk."""
    from hub.services import accounts, orgs

    with app.app_context():
        space = orgs.create_org(accounts.get_user(owner), "Acme", slug="acme", tier=tier, actor=None)
        for username, role in members.items():
            orgs.add_member(None, "acme", username, role)
        return space.pk
