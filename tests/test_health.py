"""Load-balancer probes: /healthz says the process answers; /readyz says the
database takes a write and Redis answers, else 503 naming the one that does
not (a database that answers reads but cannot write: tests/deploy/
test_database_faults.py)."""

import pytest
from support import free_port


def test_healthz_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_when_database_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.parametrize("broken", ["redis", "database"])
def test_readyz_is_503_naming_what_is_down(hub_env, tmp_path, broken):
    from hub import create_app

    config = {"TESTING": True}
    if broken == "redis":
        config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/missing/dir/hub.db"
    app = create_app(config)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"][broken] == "unavailable"
    assert [name for name, state in response.json["checks"].items() if state == "ok"] == [
        name for name in ("database", "redis") if name != broken
    ]
    assert app.test_client().get("/healthz").status_code == 200
