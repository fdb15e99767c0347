"""Every paged list takes the same page arguments (hub.schemas.PageArgs), as
the README documents: ``page`` (0-based) and ``limit`` (1-100, default 50)."""

import pytest

PAGED = {
    "GET /api/v1/tasks",
    "GET /api/v1/conversations/{conversation_id}/messages",
    "GET /api/v1/hooks/{hook_id}/deliveries",
    "GET /connectors/zapier/triggers/new_task",
    "GET /connectors/zapier/triggers/codebase_choices",
}


def page_parameters(spec) -> dict:
    found = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            query = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}
            if "page" in query:  # a search's own `limit` alone is a filter, not a page
                found[f"{method.upper()} {path}"] = (query.get("page"), query.get("limit"))
    return found


def test_every_paged_list_documents_the_same_page_and_limit(client):
    found = page_parameters(client.get("/openapi.json").json)
    assert set(found) >= PAGED
    first = found["GET /api/v1/tasks"]
    assert first[0]["schema"] == {"type": "integer", "default": 0, "minimum": 0, "maximum": 1_000_000}
    assert first[1]["schema"] == {"type": "integer", "default": 50, "minimum": 1, "maximum": 100}
    assert {name: pair for name, pair in found.items() if pair != first} == {}


@pytest.fixture
def dave(make_user):
    user = make_user("dave", tier="enterprise")
    for i in range(3):
        assert user.post("/api/v1/messages", json={"message": f"m{i}", "conversation_id": "c1"}).status_code == 201
    return user


LISTS = {
    "/api/v1/tasks": 3,
    "/api/v1/conversations/c1/messages": 3,
    "/api/v1/hooks/hook_none/deliveries": None,  # refused arguments answer before the unknown hook
    "/connectors/zapier/triggers/new_task": 3,
}


@pytest.mark.parametrize("url", list(LISTS))
def test_every_paged_list_takes_page_and_limit_alike(dave, url):
    for query, field in (("limit=0", "limit"), ("limit=101", "limit"), ("page=-1", "page"), ("page=x", "page")):
        refused = dave.get(f"{url}?{query}")
        assert refused.status_code == 422 and list(refused.json["errors"]) == [field], (query, refused.json)
    if LISTS[url] is None:
        return
    pages = [dave.get(f"{url}?limit=2&page={page}").json for page in range(3)]
    assert [len(page) for page in pages] == [2, 1, 0]
    assert len(dave.get(url).json) == LISTS[url]
