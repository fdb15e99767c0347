import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

# The SQLite pass is enough: settings are read before any database is opened.
pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parent.parent


def test_the_docs_settings_tables_are_written_from_the_settings_table():
    """README.md and docs/configuration.md show SETTINGS (hub/config.py) as scripts/settings-docs writes it."""
    settings_docs = runpy.run_path(str(ROOT / "scripts" / "settings-docs"), run_name="settings_docs")
    assert settings_docs["stale"]() == [], "edit SETTINGS in hub/config.py, then run scripts/settings-docs"


def test_a_bad_tier_table_names_the_setting(monkeypatch):
    from hub import config

    monkeypatch.setenv("HUB_TIER_CONCURRENT_TASKS", "free=5 pro")
    message = "HUB_TIER_CONCURRENT_TASKS='free=5 pro' is not valid: expected entries like 'free=...', got 'pro'"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        config.load()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_WEB_WORKERS", "four"),
        ("HUB_WEBHOOK_TIMEOUT", "10s"),
        ("HUB_TIER_RATE_LIMITS", "free=sixty/minute"),
        ("HUB_LOGIN_RATE_LIMIT", "ten a minute"),
        ("HUB_TOKEN_RATE_LIMIT", "30/fortnight"),
    ],
)
def test_a_bad_value_names_its_setting(monkeypatch, name, value):
    from hub import config

    monkeypatch.setenv(name, value)
    with pytest.raises(config.SettingError, match=f"^{name}={re.escape(repr(value))} is not valid: "):
        config.load()


def test_up_refuses_a_bad_setting_in_one_line(tmp_path):
    """No traceback for an operator's typo: the command says which setting and stops."""
    env = {**os.environ, "HUB_INSTANCE_PATH": str(tmp_path / "instance"), "HUB_WEB_WORKERS": "four"}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "up", "--port", "0"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "Error: HUB_WEB_WORKERS='four' is not valid: invalid literal for int() with base 10: 'four'"
    ]


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    from hub import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path))
    first = config.load()["SECRET_KEY"]
    assert len(first) > 40 and (tmp_path / "secret_key").read_text() == first
    assert config.load()["SECRET_KEY"] == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
