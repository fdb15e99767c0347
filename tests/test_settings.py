import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_docs_settings_tables_are_written_from_the_settings_table():
    """README.md and docs/configuration.md show SETTINGS (hub/config.py) as scripts/settings-docs writes it."""
    settings_docs = runpy.run_path(str(ROOT / "scripts" / "settings-docs"), run_name="settings_docs")
    assert settings_docs["stale"]() == [], "edit SETTINGS in hub/config.py, then run scripts/settings-docs"


def test_a_bad_tier_table_names_the_setting(monkeypatch):
    from hub import config

    monkeypatch.setenv("HUB_TIER_CONCURRENT_TASKS", "free=5 pro")
    message = "HUB_TIER_CONCURRENT_TASKS: expected entries like 'free=...', got 'pro'"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        config.load()


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    from hub import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path))
    first = config.load()["SECRET_KEY"]
    assert len(first) > 40 and (tmp_path / "secret_key").read_text() == first
    assert config.load()["SECRET_KEY"] == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
