from conftest import repo_root

from hub.config import SETTINGS


def test_every_setting_is_documented_in_the_readme():
    readme = (repo_root() / "README.md").read_text()
    missing = [s.name for s in SETTINGS if f"| `{s.name}` |" not in readme]
    assert missing == []


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    from hub import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path))
    first = config.load()["SECRET_KEY"]
    assert len(first) > 40 and (tmp_path / "secret_key").read_text() == first
    assert config.load()["SECRET_KEY"] == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_every_setting_is_documented_in_the_configuration_guide():
    guide = (repo_root() / "docs" / "configuration.md").read_text()
    missing = [s.name for s in SETTINGS if f"| `{s.name}` |" not in guide]
    assert missing == []
