"""``Idempotency-Key`` on creates: the same key with the same request replays
the first response (``Idempotent-Replayed: true``) and creates nothing more;
the same key with another request answers 422; a duplicate that arrives
while the first is still running answers 409. Keys are per user, kept
``HUB_IDEMPOTENCY_KEY_HOURS`` (24 h), and stored in the database so replays
work while Redis is down.

Only responses the view returned are kept: a request that raised (bad input,
a limit reached) frees its key, so a corrected retry can run.
"""

from __future__ import annotations

import json
from functools import wraps

from flask import Response, make_response, request

from hub.auth import current_user
from hub.errors import ValidationFailed
from hub.services import idempotency

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def request_fingerprint() -> str:
    """Method, path, query and body; JSON is compared by value, not bytes."""
    data = request.get_json(silent=True)
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")) if data is not None else request.get_data()
    query = json.dumps(sorted(request.args.items(multi=True)))
    return idempotency.digest(
        f"{request.method} {request.path} {query} ".encode()
        + (payload.encode() if isinstance(payload, str) else payload)
    )


def idempotent(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed(HEADER, f"Use 1 to {MAX_KEY_LENGTH} characters, e.g. a UUID.")
        user = current_user()
        record = idempotency.reserve(user, key, request_fingerprint())
        if record is not None:
            return Response(
                idempotency.replay_body(record),
                status=record.response_status,
                content_type=record.response_type,
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            idempotency.release(user, key)
            raise
        idempotency.complete(user, key, response.status_code, response.get_data(), response.content_type)
        return response

    return wrapper
