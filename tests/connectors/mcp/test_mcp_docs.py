"""The MCP guide (docs/mcp.md) and the connector's README say what the
endpoint does: their tool list is what ``tools/list`` serves, written from
the declarations, and the addresses and settings they name are the hub's."""

import json
import re

import pytest
from support import repo_root

from connectors.mcp import connector, tool_docs
from hub.config import SETTINGS

pytestmark = pytest.mark.sqlite_only  # the guide and the endpoint's answers do not depend on the database

GUIDE = repo_root() / "docs" / "mcp.md"
README = repo_root() / "connectors" / "mcp" / "README.md"
REGENERATE = ".venv/bin/python -m connectors.mcp.tool_docs docs/mcp.md connectors/mcp/README.md"
ACCEPT = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


def rpc(user, method, params=None, *, session=None, id_=1):
    """One JSON-RPC request to the endpoint, as a Streamable HTTP client sends it."""
    headers = {**ACCEPT, **({"Mcp-Session-Id": session} if session else {})}
    body = {"jsonrpc": "2.0", "method": method, **({"id": id_} if id_ is not None else {})}
    return user.post("/connectors/mcp", json={**body, **({"params": params} if params else {})}, headers=headers)


def answer(response):
    """The JSON-RPC answer, from a JSON body or the SSE stream's message."""
    text = response.get_data(as_text=True)
    if response.mimetype == "text/event-stream":
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)


@pytest.mark.parametrize("path", [GUIDE, README], ids=lambda p: p.name)
def test_the_tool_list_is_written_from_the_declarations(path):
    text = path.read_text(encoding="utf-8")
    assert tool_docs.START in text and tool_docs.END in text
    assert tool_docs.rewrite(text) == text, f"{path.name} lists other tools than the declarations: run {REGENERATE}"


def test_the_documented_tools_are_those_the_endpoint_lists(alice):
    opened = rpc(
        alice,
        "initialize",
        {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "docs-test", "version": "1"}},
    )
    assert opened.status_code == 200, opened.get_data(as_text=True)
    session = opened.headers["Mcp-Session-Id"]
    assert rpc(alice, "notifications/initialized", session=session, id_=None).status_code == 202
    listed = answer(rpc(alice, "tools/list", session=session, id_=2))["result"]["tools"]
    assert listed == tool_docs.listing(connector)
    for tool in listed:
        assert f"### {tool['name']}\n" in GUIDE.read_text(encoding="utf-8")


def test_the_guides_python_example_runs(hub, make_user, capsys):
    alice = make_user("alice")
    alice.create_task(title="Shown")
    guide = GUIDE.read_text(encoding="utf-8")
    example = guide[guide.index("```python\n") + len("```python\n") :]
    example = example[: example.index("```")]
    code = example.replace("https://hub.example.com", hub.base).replace("ct_...", alice.key)
    exec(compile(code, str(GUIDE), "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out.startswith("{'items': [")


def test_the_addresses_and_settings_the_guide_names_are_the_hubs(client):
    guide = GUIDE.read_text(encoding="utf-8")
    metadata_path = "/.well-known/oauth-protected-resource/connectors/mcp"
    assert f"<hub>{metadata_path}" in guide and "`<hub>/connectors/mcp`" in guide
    refused = client.post("/connectors/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=ACCEPT)
    assert refused.status_code == 401
    assert f'resource_metadata="http://hub.test{metadata_path}"' in refused.headers["WWW-Authenticate"]
    resource = client.get(metadata_path).json
    assert resource["resource"] == "http://hub.test/connectors/mcp"
    assert resource["authorization_servers"] == ["http://hub.test"]
    server = client.get("/.well-known/oauth-authorization-server").json
    assert server["registration_endpoint"] == "http://hub.test/oauth/register" and "`/oauth/register`" in guide
    assert server["code_challenge_methods_supported"] == ["S256"]
    named = set(re.findall(r"\b((?:HUB|REDIS|DATABASE)_[A-Z_]+)\b", guide))
    assert named and named <= {s.name for s in SETTINGS}, named - {s.name for s in SETTINGS}
