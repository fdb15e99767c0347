"""Settings: one table, read from the environment, with defaults.

Every setting is listed here once; the README's settings table is checked
against this list by the tests, so the two cannot drift apart.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    doc: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "HUB_INSTANCE_PATH",
        "./instance",
        "Folder that holds local state: SQLite database, embedded Redis, generated secret key. `up` and `db upgrade` create it; other commands refuse, in one line, to run where there is no hub database.",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL. Default: SQLite file `hub.db` in the instance folder (WAL mode). Production: `postgresql+psycopg://…`.",
    ),
    Setting(
        "REDIS_URL",
        None,
        "Redis for jobs, limits and worker wake-ups. Default: the embedded Redis, socket `redis.sock` in the instance folder.",
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Signs sessions and CSRF tokens. Default: generated once and kept in `secret_key` in the instance folder.",
        secret=True,
    ),
    Setting(
        "HUB_BASE_URL",
        "http://127.0.0.1:5000",
        "Public URL of the hub; task `url`s and OAuth metadata are built from it. Unset under `up`: the address and port `up` listens on (`--host`, `--port`).",
    ),
    Setting("HUB_HOST", "127.0.0.1", "Address `codetether-hub up` listens on."),
    Setting("HUB_PORT", "5000", "Port `codetether-hub up` listens on."),
    Setting(
        "HUB_WEB_WORKERS",
        None,
        "gunicorn worker processes (`up` and gunicorn.conf.py). Default: the number of CPU cores, at least 2.",
    ),
    Setting(
        "HUB_WEB_THREADS",
        "8",
        "Threads per gunicorn worker (gthread). Each long-polling agent worker holds one while it waits.",
    ),
    Setting(
        "HUB_WEB_TIMEOUT",
        "60",
        "Seconds gunicorn lets a request run before it restarts the worker; above the longest long-poll.",
    ),
    Setting(
        "HUB_MAX_REQUEST_BYTES",
        "1048576",
        "Largest request body the hub reads, in bytes (default 1 MiB, far above the 100,000-character fields); a larger one answers 413 before it is read, on every route (`/oauth/token` too) but the worker API, whose reports take up to a million characters (about 6 MB of JSON).",
    ),
    Setting("HUB_LOG_LEVEL", "INFO", "Level of the hub's own log lines (DEBUG, INFO, WARNING, ERROR)."),
    Setting("HUB_LOG_FORMAT", "json", "`json` (one object a line, with `request_id`) or `text`."),
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        None,
        "Folder where gunicorn's worker processes (and the delivery workers beside them) keep /metrics counters so they add up. Default: `up` uses `metrics` in the instance folder for its web server and worker; gunicorn on its own (hub/gunicorn_conf.py) makes a fresh temporary one at each start.",
    ),
    Setting(
        "HUB_TASK_MAX_RETRIES", "3", "Times a task whose worker vanished is put back to `pending` before it fails."
    ),
    Setting("HUB_CONNECTORS_ENABLED", "*", "Connectors to mount: `*` (every installed one) or comma-separated keys."),
    Setting("HUB_CONNECTORS_DISABLED", "", "Comma-separated connector keys never to mount, even when enabled."),
    Setting(
        "HUB_TIER_RATE_LIMITS",
        "free=60/minute pro=300/minute enterprise=unlimited",
        "Requests per user by tier, across all authenticated routes (moving window); `unlimited` = no limit. Admins are exempt.",
    ),
    Setting(
        "HUB_TIER_CONCURRENT_TASKS",
        "free=5 pro=25 enterprise=unlimited",
        "Pending + running tasks a user may have at once, by tier. Admins are exempt.",
    ),
    Setting(
        "HUB_IDEMPOTENCY_KEY_HOURS", "24", "Hours an `Idempotency-Key` and its first response are kept for replay."
    ),
    Setting(
        "HUB_WORKER_LEASE_SECONDS",
        "60",
        "How long a claimed task stays with its worker without a heartbeat; then it goes back to `pending` (or fails after max retries).",
    ),
    Setting(
        "HUB_WORKER_POLL_SECONDS",
        "20",
        "Longest a worker's claim request waits for a task (long-poll); keep it under HUB_WEB_TIMEOUT.",
    ),
    Setting(
        "HUB_WORKER_TOKEN",
        None,
        "Worker token (`ctw_…`) for `codetether-hub agent-worker` when `--token` is not given.",
        secret=True,
    ),
    Setting(
        "HUB_AGENT_COMMAND",
        None,
        "Agent command line for the `command` backend; when set, `up` runs an agent worker with it. Prompt on stdin, task fields in `CODETETHER_*` variables.",
    ),
    Setting(
        "HUB_AGENT_TIMEOUT", "3600", "Seconds an agent (command or chat completion) may run before its task fails."
    ),
    Setting(
        "HUB_OPENAI_BASE_URL",
        None,
        "OpenAI-compatible API base URL for the `openai` backend (e.g. `http://127.0.0.1:11434/v1` for Ollama); when set, `up` runs an agent worker with it.",
    ),
    Setting(
        "HUB_OPENAI_API_KEY",
        None,
        "API key for `HUB_OPENAI_BASE_URL` (any text for servers that need none).",
        secret=True,
    ),
    Setting("HUB_OPENAI_MODEL", None, "Model for the `openai` backend when a task names none."),
    Setting(
        "HUB_WEBHOOK_ALLOW_NETWORKS",
        "",
        "Comma-separated CIDRs webhooks may reach although they are private (e.g. `127.0.0.0/8` for development). Empty: only public addresses.",
    ),
    Setting(
        "HUB_WEBHOOK_TIMEOUT",
        "15",
        "Seconds a webhook receiver gets to connect, and then to answer; slower is a failed attempt.",
    ),
    Setting(
        "HUB_WEBHOOK_RETRY_SCHEDULE",
        "5,300,1800,7200,18000,36000,36000,43200,43200,43200,43200",
        "Seconds before each retry of a failed delivery (about 3 days in all), jittered by +-20%.",
    ),
    Setting(
        "HUB_WEBHOOK_DISABLE_AFTER",
        "259200",
        "Seconds of uninterrupted failed attempts after which a subscription is disabled (3 days: a hook whose every retry failed); one success resets.",
    ),
    Setting(
        "HUB_WEBHOOK_CONCURRENCY",
        "4",
        "Deliveries one worker process sends at once to one endpoint (target URL). Each endpoint has its own lane, so a slow or hung receiver delays only its own deliveries; one that does not answer gets one send at a time until it does.",
    ),
    Setting(
        "HUB_WEBHOOK_LEASE_SECONDS",
        "10",
        "Seconds a worker's claim on a delivery lasts unless renewed; a worker renews its claims every third of it while it sends. A worker killed mid-send has its deliveries retried within about this long.",
    ),
    Setting(
        "HUB_WEBHOOK_SWEEP_INTERVAL",
        "1",
        "Seconds between the worker's sweeps for events and retries that never reached Redis.",
    ),
    Setting("HUB_OAUTH_CODE_TTL", "60", "Seconds an OAuth authorization code stays redeemable (at most 60)."),
    Setting("HUB_OAUTH_ACCESS_TOKEN_TTL", "3600", "Seconds an OAuth access token is valid."),
    Setting(
        "HUB_OAUTH_REFRESH_TOKEN_TTL",
        "2592000",
        "Seconds an OAuth refresh token is valid (30 days); each refresh issues a new one.",
    ),
    Setting(
        "HUB_CREDENTIAL_CACHE_SECONDS",
        "10",
        "Longest a process trusts what it remembers of an API key or OAuth access token. Changes made through the hub apply at once everywhere (announced on Redis); this bounds changes made directly in the database. `0` checks the database on every request.",
    ),
    Setting("HUB_LOGIN_RATE_LIMIT", "10/minute", "Failed sign-ins allowed per client IP (`POST /login`)."),
    Setting(
        "HUB_LOGIN_ACCOUNT_RATE_LIMIT",
        "5/15minute",
        "Sign-in attempts allowed per account from browsers that never signed in to it (moving window); past it they get 429 whatever the password. A browser that did (signed cookie, 90 days) counts only its own failures, so an attacker cannot lock the owner out.",
    ),
    Setting(
        "HUB_TOKEN_RATE_LIMIT",
        "30/minute",
        "Failed requests allowed per client IP to the OAuth endpoints that check a client secret or token (`/oauth/token`, `/oauth/revoke`, `/oauth/introspect`, one count); successful ones are not counted.",
    ),
    Setting(
        "HUB_AUTH_FAILURE_RATE_LIMIT",
        "60/minute",
        "Failed bearer authentications (API key, OAuth access token, worker token, JWT, metrics token) allowed per client IP; past it every bearer request from that IP gets 429 until the window frees.",
    ),
    Setting(
        "HUB_TRUSTED_PROXIES",
        "",
        "Comma-separated addresses or CIDRs of your reverse proxies. A request from one of them is counted, for per-IP limits and logs, under the address its `X-Forwarded-For` names; anyone else's `X-Forwarded-For` is ignored. Empty: the peer's address counts.",
    ),
    Setting(
        "HUB_METRICS_TOKEN",
        None,
        "Bearer token that `/metrics` requires (Prometheus' `authorization`). Unset: `/metrics` answers only clients on loopback that come through no proxy; others get 404.",
        secret=True,
    ),
    Setting("HUB_LOCAL_ACCOUNTS", "true", "`false` turns off sign-in with local usernames and passwords (SSO only)."),
    Setting(
        "HUB_OIDC_ISSUER",
        None,
        "OpenID Connect issuer for SSO, e.g. `https://sso.example.com/realms/codetether` (Keycloak). Discovery is read from it.",
    ),
    Setting("HUB_OIDC_CLIENT_ID", None, "The hub's client id at the OpenID Connect provider."),
    Setting("HUB_OIDC_CLIENT_SECRET", None, "The hub's client secret at the OpenID Connect provider.", secret=True),
    Setting(
        "HUB_OIDC_SCOPES", "openid email profile", "Scopes the hub asks the OpenID Connect provider for at sign-in."
    ),
    Setting(
        "HUB_OIDC_TIER_CLAIM",
        "realm_access.roles",
        "Dotted path of the claim that holds the user's roles or tier (Keycloak realm roles by default).",
    ),
    Setting(
        "HUB_OIDC_TIER_ROLE_PREFIX",
        "codetether-",
        "A role named this prefix plus a tier (`codetether-pro`, `codetether-enterprise`) sets the tier; none means `free`.",
    ),
    Setting(
        "HUB_OIDC_AUDIENCE",
        None,
        "When set, JWT access tokens from the OpenID Connect provider with this audience are accepted as bearer tokens (resource-server mode).",
    ),
)


def instance_path() -> Path:
    return Path(os.environ.get("HUB_INSTANCE_PATH") or "./instance").resolve()


def create_instance() -> Path:
    """Make the instance folder: only what sets a hub up does (`up`, `db
    upgrade`, the WSGI entry), so a command run in the wrong folder leaves
    nothing behind."""
    instance = instance_path()
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)  # the database, the secret key: the owner's alone
    return instance


def _secret_key(instance: Path) -> str:
    """Return SECRET_KEY, generating and keeping one in the instance folder.
    No folder: a key for this process alone (the CLI refuses to run the
    commands that need the kept one there)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    if not instance.is_dir():
        return key
    # O_EXCL: when two processes start at once, one writes and both read it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def default_web_workers() -> int:
    # gthread workers: one process a core; threads carry the concurrency.
    return max(2, os.cpu_count() or 1)


def default_redis_url(instance: Path) -> str:
    return f"unix://{instance / 'redis.sock'}"


def tier_table(name: str, value: str, parse=str) -> dict:
    """``free=60/minute pro=300/minute enterprise=unlimited`` -> {tier: value};
    ``unlimited`` becomes None."""
    table = {}
    for entry in value.split():
        tier, sep, amount = entry.partition("=")
        if not sep or not tier:
            raise ValueError(f"{name}: expected entries like 'free=...', got {entry!r}")
        table[tier] = None if amount in ("unlimited", "") else parse(amount)
    return table


def _rate(value: str) -> str:
    from limits import parse_many

    parse_many(value)  # a typo fails at start-up, not on the first request
    return value


def load() -> dict:
    """Build the Flask config mapping from the environment."""
    instance = instance_path()
    env = {s.name: os.environ.get(s.name) or s.default for s in SETTINGS}
    database_url = env["DATABASE_URL"] or f"sqlite:///{instance / 'hub.db'}"
    return {
        "HUB_INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": env["REDIS_URL"] or default_redis_url(instance),
        "SECRET_KEY": _secret_key(instance),
        "HUB_BASE_URL": env["HUB_BASE_URL"].rstrip("/"),
        "HUB_HOST": env["HUB_HOST"],
        "HUB_PORT": int(env["HUB_PORT"]),
        "HUB_WEB_WORKERS": int(env["HUB_WEB_WORKERS"] or default_web_workers()),
        "HUB_WEB_THREADS": int(env["HUB_WEB_THREADS"]),
        "HUB_WEB_TIMEOUT": int(env["HUB_WEB_TIMEOUT"]),
        "HUB_MAX_REQUEST_BYTES": int(env["HUB_MAX_REQUEST_BYTES"]),
        "HUB_LOG_LEVEL": env["HUB_LOG_LEVEL"].upper(),
        "HUB_LOG_FORMAT": env["HUB_LOG_FORMAT"],
        "HUB_TASK_MAX_RETRIES": int(env["HUB_TASK_MAX_RETRIES"]),
        "HUB_CONNECTORS_ENABLED": _keys(env["HUB_CONNECTORS_ENABLED"]),
        "HUB_CONNECTORS_DISABLED": _keys(env["HUB_CONNECTORS_DISABLED"]),
        "HUB_TIER_RATE_LIMITS": tier_table("HUB_TIER_RATE_LIMITS", env["HUB_TIER_RATE_LIMITS"], _rate),
        "HUB_TIER_CONCURRENT_TASKS": tier_table("HUB_TIER_CONCURRENT_TASKS", env["HUB_TIER_CONCURRENT_TASKS"], int),
        "HUB_IDEMPOTENCY_KEY_HOURS": float(env["HUB_IDEMPOTENCY_KEY_HOURS"]),
        "HUB_WORKER_LEASE_SECONDS": float(env["HUB_WORKER_LEASE_SECONDS"]),
        "HUB_WORKER_POLL_SECONDS": float(env["HUB_WORKER_POLL_SECONDS"]),
        # Read by `up` to start its agent worker; the agent worker reads the
        # environment itself (it needs no database).
        **{
            name: env[name]
            for name in (
                "HUB_AGENT_COMMAND",
                "HUB_AGENT_TIMEOUT",
                "HUB_OPENAI_BASE_URL",
                "HUB_OPENAI_API_KEY",
                "HUB_OPENAI_MODEL",
            )
        },
        "HUB_WEBHOOK_ALLOW_NETWORKS": env["HUB_WEBHOOK_ALLOW_NETWORKS"],
        "HUB_WEBHOOK_TIMEOUT": float(env["HUB_WEBHOOK_TIMEOUT"]),
        "HUB_WEBHOOK_RETRY_SCHEDULE": env["HUB_WEBHOOK_RETRY_SCHEDULE"],
        "HUB_WEBHOOK_DISABLE_AFTER": float(env["HUB_WEBHOOK_DISABLE_AFTER"]),
        "HUB_WEBHOOK_CONCURRENCY": int(env["HUB_WEBHOOK_CONCURRENCY"]),
        "HUB_WEBHOOK_LEASE_SECONDS": float(env["HUB_WEBHOOK_LEASE_SECONDS"]),
        "HUB_WEBHOOK_SWEEP_INTERVAL": float(env["HUB_WEBHOOK_SWEEP_INTERVAL"]),
        # RFC 9700 wants codes short-lived: never more than a minute.
        "HUB_OAUTH_CODE_TTL": min(int(env["HUB_OAUTH_CODE_TTL"]), 60),
        "HUB_OAUTH_ACCESS_TOKEN_TTL": int(env["HUB_OAUTH_ACCESS_TOKEN_TTL"]),
        "HUB_OAUTH_REFRESH_TOKEN_TTL": int(env["HUB_OAUTH_REFRESH_TOKEN_TTL"]),
        "HUB_CREDENTIAL_CACHE_SECONDS": float(env["HUB_CREDENTIAL_CACHE_SECONDS"]),
        "HUB_LOGIN_RATE_LIMIT": env["HUB_LOGIN_RATE_LIMIT"],
        "HUB_TOKEN_RATE_LIMIT": env["HUB_TOKEN_RATE_LIMIT"],
        "HUB_LOGIN_ACCOUNT_RATE_LIMIT": _rate(env["HUB_LOGIN_ACCOUNT_RATE_LIMIT"]),
        "HUB_AUTH_FAILURE_RATE_LIMIT": _rate(env["HUB_AUTH_FAILURE_RATE_LIMIT"]),
        "HUB_METRICS_TOKEN": env["HUB_METRICS_TOKEN"],
        "HUB_TRUSTED_PROXIES": tuple(
            ipaddress.ip_network(part, strict=False) for part in _keys(env["HUB_TRUSTED_PROXIES"])
        ),
        "HUB_LOCAL_ACCOUNTS": env["HUB_LOCAL_ACCOUNTS"].strip().lower() in ("1", "true", "yes", "on"),
        "HUB_OIDC_ISSUER": (env["HUB_OIDC_ISSUER"] or "").rstrip("/") or None,
        "HUB_OIDC_CLIENT_ID": env["HUB_OIDC_CLIENT_ID"],
        "HUB_OIDC_CLIENT_SECRET": env["HUB_OIDC_CLIENT_SECRET"],
        "HUB_OIDC_SCOPES": env["HUB_OIDC_SCOPES"],
        "HUB_OIDC_TIER_CLAIM": env["HUB_OIDC_TIER_CLAIM"],
        "HUB_OIDC_TIER_ROLE_PREFIX": env["HUB_OIDC_TIER_ROLE_PREFIX"],
        "HUB_OIDC_AUDIENCE": env["HUB_OIDC_AUDIENCE"],
    }


def _keys(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
