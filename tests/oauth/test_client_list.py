"""The admin's list of OAuth clients (CLI, admin page) is in the order they
were registered, also after one was revoked (PostgreSQL moves an updated
row: without ORDER BY it would come last there)."""


def test_clients_are_listed_in_the_order_registered_after_a_revocation(app):
    from hub.db import db
    from hub.services import oauth

    with app.app_context():
        for name in ("First", "Second", "Third"):
            oauth.create_client(name, ["https://app.example/cb"])
        first = oauth.list_clients()[0]
        oauth.revoke_client(first.client_id)
        db.session.commit()
        db.session.expire_all()
        assert [c.name for c in oauth.list_clients()] == ["First", "Second", "Third"]
