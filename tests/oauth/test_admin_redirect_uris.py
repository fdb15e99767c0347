"""A client the admin registers (CLI, admin page) names https redirect URIs,
or http on loopback: an app's private-use scheme (com.example.app:/cb) is
for apps that register themselves (RFC 8252 §7.1), not for an admin's
client (Zapier's, a web app's)."""

import pytest


def test_an_admin_client_takes_no_private_use_redirect_uri(app):
    from hub.errors import ValidationFailed
    from hub.services import oauth

    with app.app_context():
        with pytest.raises(ValidationFailed) as refused:
            oauth.create_client("App", ["com.example.app:/cb"])
        assert "redirect_uri" in refused.value.errors
        assert oauth.list_clients() == []
        client, _secret = oauth.create_client("App", ["https://app.example/cb", "http://127.0.0.1:8000/cb"])
        assert client.redirect_uri_list == ["https://app.example/cb", "http://127.0.0.1:8000/cb"]
