"""Secrets sealed by an earlier release still open (hub/crypto.py): the
Fernet key derivations are fixed, one per purpose."""

import pytest
from cryptography.fernet import InvalidToken

from hub.crypto import IDEMPOTENT_RESPONSES, WEBHOOK_SECRETS, fernet
from hub.webhooks import signing

# The SQLite pass is enough: no database here.
pytestmark = pytest.mark.sqlite_only

SECRET_KEY = "a-secret-key-of-an-older-release"
# Sealed with the derivations as first written (SHA-256 of purpose, NUL, SECRET_KEY).
SEALED_WEBHOOK_SECRET = (
    "gAAAAABrFoYNeWfLvL2mIJhiRzX-2yUXkwoHvUWw5516JZUnp0Pi8dpx2zJDZR4m2hHN-Zya0aJ4HSaDSjuU4zueARZQbCRs_"
    "ArutSgGev2p7CIAwMwnmEcTyiSVlQucixDGONB-m40z"
)
SEALED_RESPONSE = (
    "gAAAAABrFoYNPGnK2oCGNWaA3CBmo5pjGQiGuUmTOBuAN-u_6w6oXFvO90FmNowUIzKcaDurcQCldiDonb6fx3yy4HCIU1h6hwu"
    "XA3mpctmbwiwurpGIsUI="
)


def test_a_stored_webhook_secret_still_opens():
    assert signing.unseal(SEALED_WEBHOOK_SECRET, SECRET_KEY) == "whsec_c2VhbGVkIGJ5IGFuIG9sZGVyIGh1Yg=="


def test_a_kept_idempotent_response_still_opens():
    assert fernet(IDEMPOTENT_RESPONSES, SECRET_KEY).decrypt(SEALED_RESPONSE.encode()) == b'{"id": "task_1"}'


def test_each_purpose_has_its_own_key():
    with pytest.raises(InvalidToken):
        fernet(WEBHOOK_SECRETS, SECRET_KEY).decrypt(SEALED_RESPONSE.encode())
    with pytest.raises(InvalidToken):
        fernet(IDEMPOTENT_RESPONSES, SECRET_KEY).decrypt(SEALED_WEBHOOK_SECRET.encode())
