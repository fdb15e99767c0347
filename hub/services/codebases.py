"""Codebases: where agents work. Each user's ``global`` is the default."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import make_transient_to_detached

from hub.db import begin_write, db, new_id
from hub.errors import ValidationFailed
from hub.models import Codebase, User
from hub.models.codebases import GLOBAL_CODEBASE_ID


def list_codebases(user: User) -> list[Codebase]:
    return list(db.session.scalars(select(Codebase).where(Codebase.user_pk == user.pk).order_by(Codebase.pk)))


_BY_ID = select(Codebase).where(Codebase.user_pk == bindparam("user_pk"), Codebase.id == bindparam("id"))  # built once


def resolve(user: User, codebase_id: str | None, field: str = "codebase_id") -> Codebase:
    """The user's codebase with this id, or their ``global`` one when none is
    named. Unknown ids (and other users' ids) are a 422 on ``field``.

    A codebase's identity (pk, id, owner) never changes and codebases are
    never deleted, so each app remembers the identities it has read: a create
    then skips a read transaction, about a tenth of its cost on SQLite. Other
    attributes load from the database when read."""
    wanted = codebase_id or GLOBAL_CODEBASE_ID
    known = current_app.extensions.setdefault("hub_codebase_identities", {})
    identity = known.get((user.pk, wanted))
    if identity is not None:
        return db.session.merge(identity, load=False)
    codebase = db.session.scalar(_BY_ID, {"user_pk": user.pk, "id": wanted})
    if codebase is None:
        raise ValidationFailed(
            field,
            f"No codebase '{wanted}'. Use one of your codebase ids, or leave it empty for '{GLOBAL_CODEBASE_ID}'.",
        )
    if len(known) >= MAX_IDENTITIES:
        known.clear()
    identity = Codebase(pk=codebase.pk, id=codebase.id, user_pk=codebase.user_pk)
    make_transient_to_detached(identity)  # the rest unloaded: read fresh if asked for
    known[(user.pk, wanted)] = identity
    return codebase


MAX_IDENTITIES = 10_000


def create_codebase(user: User, *, name: str, path: str | None = None, description: str | None = None) -> Codebase:
    begin_write()
    codebase = Codebase(id=new_id("cb_", 16), user_pk=user.pk, name=name.strip(), path=path, description=description)
    db.session.add(codebase)
    db.session.commit()
    return codebase
