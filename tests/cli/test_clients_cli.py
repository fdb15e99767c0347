import json

import pytest

ZAPIER = "https://zapier.com/dashboard/auth/oauth/return/App123456CLIAPI/"


def test_create_list_and_revoke_clients(run, app):
    text = run("clients", "create", "--name", "Zapier", "--redirect-uri", ZAPIER).output
    assert "client_id:" in text and "client_secret: cts_" in text and "not shown again" in text
    assert "PKCE (S256) required." in text  # the default for every client
    made = json.loads(
        run(
            "clients",
            "create",
            "--name",
            "Script",
            "--redirect-uri",
            "http://127.0.0.1:9000/cb",
            "--scopes",
            "tasks:read",
            "--no-pkce",
            "--json",
        ).output
    )
    assert made["scopes"] == ["tasks:read"] and made["require_pkce"] is False and made["client_secret"]
    public = json.loads(
        run(
            "clients", "create", "--name", "CLI", "--redirect-uri", "http://localhost:1/cb", "--public", "--json"
        ).output
    )
    assert public["client_secret"] is None and public["public"] is True and public["require_pkce"] is True

    listed = json.loads(run("clients", "list", "--json").output)["clients"]
    assert [c["name"] for c in listed] == ["Zapier", "Script", "CLI"]
    assert [c["require_pkce"] for c in listed] == [True, False, True]
    table = {line.split()[1]: line.split() for line in run("clients", "list").output.splitlines()}
    assert (table["Zapier"][3], table["Script"][3], table["CLI"][3]) == ("pkce", "no-pkce", "pkce")
    assert all("secret" not in json.dumps(c) for c in listed)
    assert made["client_secret"] not in run("clients", "list").output

    run("clients", "revoke", made["client_id"])
    listed = {c["client_id"]: c for c in json.loads(run("clients", "list", "--json").output)["clients"]}
    assert listed[made["client_id"]]["revoked"] is True
    with app.app_context():
        from hub.services import oauth

        assert oauth.find_client(made["client_id"]) is None
        assert oauth.find_client(public["client_id"]) is not None


@pytest.mark.parametrize(
    "uri",
    [
        "http://zapier.com/cb",
        "https://zapier.com/cb#frag",
        "not a url",
        "https://user:pw@zapier.com/cb",
        "javascript:alert(1)",
    ],
)
def test_bad_redirect_uris_are_refused(run, uri):
    result = run("clients", "create", "--name", "Bad", "--redirect-uri", uri, ok=False)
    assert result.exit_code != 0 and "redirect_uri" in result.output
    assert json.loads(run("clients", "list", "--json").output)["clients"] == []


def test_unknown_scope_and_unknown_client(run):
    result = run("clients", "create", "--name", "X", "--redirect-uri", ZAPIER, "--scopes", "root", ok=False)
    assert result.exit_code != 0 and "Unknown scope" in result.output
    assert run("clients", "revoke", "cli_nope", ok=False).exit_code != 0


def test_pkce_opt_out_is_for_confidential_clients_only(run):
    public = run(
        "clients",
        "create",
        "--name",
        "CLI",
        "--redirect-uri",
        "http://localhost:1/cb",
        "--public",
        "--no-pkce",
        ok=False,
    )
    assert public.exit_code != 0 and "pkce" in public.output and "must use PKCE" in public.output
    both = run("clients", "create", "--name", "X", "--redirect-uri", ZAPIER, "--no-pkce", "--require-pkce", ok=False)
    assert both.exit_code != 0 and "not both" in both.output
    assert json.loads(run("clients", "list", "--json").output)["clients"] == []
