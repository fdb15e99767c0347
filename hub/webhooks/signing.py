"""Standard Webhooks signatures, and the signing secrets at rest.

A secret is ``whsec_`` + base64 of 24 random bytes. The signature is
``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")) over the exact
bytes sent. Secrets must stay usable to sign, so they cannot be hashed: they
are stored encrypted (Fernet, ``hub.crypto``) under a key derived from
SECRET_KEY, and never logged. Rotating SECRET_KEY therefore invalidates
stored webhook secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from functools import lru_cache

from hub.crypto import WEBHOOK_SECRETS, fernet

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def seal(secret: str, secret_key: str) -> str:
    return fernet(WEBHOOK_SECRETS, secret_key).encrypt(secret.encode()).decode()


@lru_cache(maxsize=4096)
def unseal(sealed: str, secret_key: str) -> str:
    return fernet(WEBHOOK_SECRETS, secret_key).decrypt(sealed.encode()).decode()


def seal_headers(headers: Mapping[str, str], secret_key: str) -> str:
    """Headers a callback's caller asked for (an ``Authorization``): secrets
    too, sealed as one JSON object."""
    return seal(json.dumps(dict(headers)), secret_key)


def unseal_headers(sealed: str, secret_key: str) -> dict[str, str]:
    headers: dict[str, str] = json.loads(unseal(sealed, secret_key))
    return headers
