"""Helpers for page tests over the Flask test client."""

import re

import pytest

from hub.db import db


@pytest.fixture
def sign_in(app, client):
    """Sign ``username`` in on the test client with the hub's own sign_in
    (the sign-in form itself is tested in test_sign_in.py and in the browser
    tests)."""
    from flask import session as signed

    from hub.models import User
    from hub.web import session as web_session

    def sign_in(username):
        with app.test_request_context():
            web_session.sign_in(db.session.scalar(db.select(User).where(User.username == username)))
            values = dict(signed)
        with client.session_transaction() as session:
            session.update(values)  # keeps the CSRF token: tests switch users on one client
            session.permanent = True
        return client

    return sign_in


def csrf_token(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
