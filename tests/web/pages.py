"""Helpers for page tests over the Flask test client."""
import re

import pytest

from hub.db import db


@pytest.fixture
def sign_in(app, client):
    """Sign ``username`` in on the test client (the sign-in form itself is
    tested in test_sign_in.py and in the browser tests)."""
    from hub.models import User

    def sign_in(username):
        with app.app_context():
            pk = db.session.scalar(db.select(User.pk).where(User.username == username))
        with client.session_transaction() as session:
            session["user_pk"] = pk
        return client

    return sign_in


def csrf_token(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
