"""Each connector's `url` in the index (/connectors/<key>/) answers with what
the connector offers: its operations, where to call them, its docs."""


def test_every_connectors_url_describes_it(client, alice):
    index = client.get("/connectors/").json
    assert {c["key"] for c in index} >= {"zapier", "example"}  # the example is a third party's package
    for summary in index:
        page = client.get(summary["url"])
        assert page.status_code == 200 and page.mimetype == "application/json", summary["url"]
        about = page.json
        assert {k: about[k] for k in summary} == summary
        assert about["docs_url"] and "description" in about
        listed = {(o["kind"], o["key"]) for o in about["operations"]}
        assert listed == (
            {("trigger", k) for k in summary["triggers"]}
            | {("action", k) for k in summary["actions"]}
            | {("search", k) for k in summary["searches"]}
        )
        for operation in about["operations"]:
            assert operation["label"] and operation["scope"] in about["scopes"]
            folder = {"trigger": "triggers", "action": "actions", "search": "searches"}[operation["kind"]]
            assert operation["url"] == f"{summary['url']}{folder}/{operation['key']}"
            # The operation is there (an anonymous call needs a token; with alice's key it is no 404).
            call = client.open(operation["url"], method=operation["method"])
            assert call.status_code == 401, operation
            call = alice.client.open(operation["url"], method=operation["method"], headers=alice.headers, json={})
            assert call.status_code != 404, operation


def test_the_zapier_page_names_its_rest_hook_triggers(client):
    about = client.get("/connectors/zapier/").json
    new_task = next(o for o in about["operations"] if o["key"] == "new_task")
    assert new_task["kind"] == "trigger" and new_task["method"] == "GET" and new_task["event"] == "task.created"
    assert client.get("/connectors/zapier").status_code in (301, 308)  # to the page with its slash
