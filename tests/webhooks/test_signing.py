"""Standard Webhooks signatures: the spec's known vector, and the package's
verifier accepts what the hub signs."""

import base64

import pytest
from cryptography.fernet import InvalidToken
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from hub.webhooks import signing

VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": b'{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


def test_the_spec_vector():
    assert signing.sign(VECTOR["secret"], VECTOR["id"], VECTOR["timestamp"], VECTOR["body"]) == VECTOR["signature"]


def test_new_secrets_verify_and_tampering_does_not():
    import time

    secret = signing.new_secret()
    assert secret.startswith("whsec_") and secret != signing.new_secret()
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24  # 192 random bits (the spec: 24 to 64 bytes)
    body = b'{"id":"evt_1","data":{"title":"x"}}'
    headers = signing.headers(secret, "evt_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {"id": "evt_1", "data": {"title": "x"}}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"x", b"y"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)


def test_sealed_secrets_open_only_with_the_same_key():
    secret = signing.new_secret()
    sealed = signing.seal(secret, "key-one")
    assert secret not in sealed and secret[6:] not in sealed
    assert signing.unseal(sealed, "key-one") == secret
    with pytest.raises(InvalidToken):
        signing.unseal(sealed, "key-two")


def test_a_callbacks_headers_are_sealed_whole_and_open_only_with_the_same_key():
    headers = {"Authorization": "Bearer zap-secret-token", "X-Zap": "1"}
    sealed = signing.seal_headers(headers, "key-one")
    assert isinstance(sealed, str) and "zap-secret-token" not in sealed
    assert signing.unseal_headers(sealed, "key-one") == headers
    with pytest.raises(InvalidToken):
        signing.unseal_headers(sealed, "key-two")
