"""The hub as an OAuth2 authorization server (authlib): see ``server`` for
the grants and endpoints, ``routes`` for the HTTP side."""
