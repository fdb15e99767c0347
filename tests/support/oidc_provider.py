"""A real OpenID Connect provider on loopback: the npm package
``oidc-provider`` run by tests/oidc/provider.mjs, set up like a Keycloak
realm (realm path, preferred_username, realm_access.roles). The fixture
that starts it is ``oidc_provider`` in tests/web/conftest.py."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from support import free_port, repo_root, wait_for
from support.processes import collect

HERE = repo_root() / "tests" / "oidc"
AUDIENCE = "codetether-hub-api"
RESOURCE = "urn:codetether:hub"
RESOURCE_SCOPES = "tasks:read tasks:write messages:write codebases:read"

USERS = {
    "maria": {
        "sub": "5b0e0c1e-0001-4c5e-9d7a-maria",
        "password": "maria-pass",
        "email": "maria@example.com",
        "name": "Maria Lopez",
        "roles": ["offline_access", "uma_authorization", "codetether-pro"],
    },
    "ken": {
        "sub": "5b0e0c1e-0002-4c5e-9d7a-ken",
        "password": "ken-pass",
        "email": "ken@example.com",
        "name": "Ken Adams",
        "roles": ["offline_access"],
        "groups": ["/acme/developers"],
    },
    "alice": {
        "sub": "5b0e0c1e-0003-4c5e-9d7a-alice",
        "password": "alice-pass",
        "email": "alice@sso.example",
        "name": "Alice at SSO",
        "roles": ["codetether-enterprise"],
    },
}


@functools.cache
def realm_signing_key() -> dict:
    """One RSA key per test session: generating it in every provider start is
    slow and, on a loaded machine, sometimes very slow."""
    from joserfc.jwk import RSAKey

    return RSAKey.generate_key(2048, private=True).as_dict(private=True)


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    cli_client_id: str
    cli_redirect: str
    process: subprocess.Popen
    config_path: Path
    lines: list = field(default_factory=list)

    @property
    def hub_settings(self) -> dict:
        return {
            "HUB_OIDC_ISSUER": self.issuer,
            "HUB_OIDC_CLIENT_ID": self.client_id,
            "HUB_OIDC_CLIENT_SECRET": self.client_secret,
        }

    def update_user(self, username: str, **fields) -> None:
        """Change a user at the provider, as an admin would in Keycloak (e.g.
        ``groups=[...]``): the provider reads its users at each sign-in."""
        config = json.loads(self.config_path.read_text())
        config["users"][username].update(fields)
        self.config_path.write_text(json.dumps(config))

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def node_ready() -> bool:
    return shutil.which("node") is not None and (HERE / "node_modules" / "oidc-provider").is_dir()


def start_provider(config_dir: Path, hub_base: str, **options) -> OidcProvider:
    """A provider whose hub client redirects to ``hub_base``/login/sso/callback."""
    port = free_port()
    config = {
        **options,
        "signingKey": realm_signing_key(),
        "port": port,
        "realm": "codetether",
        "users": USERS,
        "resource": RESOURCE,
        "audience": AUDIENCE,
        "resourceScopes": RESOURCE_SCOPES,
        "clients": [
            {
                "client_id": "codetether-hub",
                "client_secret": "hub-secret-at-keycloak",
                "redirect_uris": [hub_base + "/login/sso/callback"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
            {
                "client_id": "cli-tool",
                "redirect_uris": ["http://127.0.0.1:9/callback"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
        ],
    }
    path = config_dir / f"oidc-{port}.json"
    path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [shutil.which("node") or "node", str(HERE / "provider.mjs"), str(path)],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    provider = OidcProvider(
        issuer=f"http://127.0.0.1:{port}/realms/codetether",
        client_id="codetether-hub",
        client_secret="hub-secret-at-keycloak",
        cli_client_id="cli-tool",
        cli_redirect="http://127.0.0.1:9/callback",
        process=process,
        config_path=path,
    )
    provider.lines = collect(process.stdout)

    def ready():
        if process.poll() is not None:
            raise AssertionError("oidc-provider exited:\n" + provider.output())
        try:
            return httpx.get(provider.issuer + "/.well-known/openid-configuration", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, timeout=60, interval=0.1, message="oidc-provider to answer")
    except AssertionError as error:
        provider.stop()
        raise AssertionError(f"{error}; its output:\n{provider.output()}") from None
    return provider
