"""Revoking an OAuth client (CLI, admin page) revokes its tokens, and only
its own: another app's connection keeps working."""


def test_revoking_a_client_revokes_its_tokens_and_no_other_clients(app, alice):
    from hub.db import db
    from hub.services import accounts, oauth

    with app.app_context():
        user = accounts.get_user("alice")
        tokens = {}
        for name in ("Gone", "Kept"):
            client, _secret = oauth.create_client(name, ["https://app.example/cb"])
            tokens[name] = oauth.new_access_token()
            oauth.save_token(
                {"access_token": tokens[name], "expires_in": 3600, "scope": "tasks:read"}, client=client, user=user
            )
            db.session.commit()
        gone = oauth.find_token(tokens["Gone"]).client
        oauth.revoke_client(gone.client_id)
        db.session.expire_all()
        assert oauth.find_token(tokens["Gone"]).revoked_at is not None
        assert oauth.find_token(tokens["Kept"]).revoked_at is None
