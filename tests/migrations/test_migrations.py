"""Migrations build the schema the models describe, in one linear chain."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from hub.db import db


def script_directory(app):
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def test_one_head(app):
    with app.app_context():
        heads = script_directory(app).get_heads()
    assert len(heads) == 1, f"migrations have several heads {heads}: chain yours after main's head"


def test_models_and_migrations_do_not_drift(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_downgrade_to_base_and_up_again(app):
    with app.app_context():
        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() is None
        upgrade()
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == script_directory(app).get_current_head()


def test_file_numbers_follow_the_chain(app):
    """A newcomer reads the folder in order: 0001, 0002, … is the order they run in."""
    with app.app_context():
        chain = list(reversed(list(script_directory(app).walk_revisions())))
    numbers = [int(Path(rev.path).name[:4]) for rev in chain]
    assert numbers == list(range(1, len(chain) + 1)), [Path(rev.path).name for rev in chain]
