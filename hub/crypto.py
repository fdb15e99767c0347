"""Secrets at rest: hashes of the ones the hub only compares, Fernet
encryption of the ones it must read back.

Keys, tokens and codes are high-entropy, so one SHA-256 makes a leaked table
useless and stays indexable for lookup. What must be read back (webhook
signing secrets, idempotent responses) is encrypted under a key derived from
SECRET_KEY, one derivation per purpose so that neither can open the other's
data. The derivations are fixed: stored data must still decrypt.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet

# The purposes of the Fernet keys: each is part of its derivation.
WEBHOOK_SECRETS = b"codetether-hub webhook secrets"
IDEMPOTENT_RESPONSES = b"codetether-hub idempotent responses"


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (keys, tokens, codes): enough to make
    a leaked table useless, and indexable for lookup."""
    return hashlib.sha256(secret.encode()).hexdigest()


@lru_cache(maxsize=16)
def fernet(purpose: bytes, secret_key: str) -> Fernet:
    """The Fernet for ``purpose`` (WEBHOOK_SECRETS, IDEMPOTENT_RESPONSES)
    under ``secret_key``: rotating SECRET_KEY makes what it sealed unreadable."""
    digest = hashlib.sha256(purpose + b"\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))
