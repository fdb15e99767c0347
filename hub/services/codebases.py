"""Codebases: where agents work. Each user's ``global`` is the default."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from hub.db import begin_write, db, new_id
from hub.errors import ValidationFailed
from hub.models import Codebase, User
from hub.models.codebases import GLOBAL_CODEBASE_ID
from hub.schemas import Page, fetch_page, paged
from hub.services import fast_create, spaces


def list_codebases(user: User, *, page: int = 0, limit: int = 50) -> Page[Codebase]:
    """A page of the user's codebases, oldest first (``global`` first)."""
    query = select(Codebase).where(Codebase.space_pk == user.space_pk).order_by(Codebase.pk)
    return fetch_page(paged(query), page=page, limit=limit)


_BY_ID = select(Codebase).where(
    Codebase.space_pk == bindparam("space_pk"), Codebase.id == bindparam("id")
)  # built once


def resolve(user: User, codebase_id: str | None, field: str = "codebase_id") -> Codebase:
    """The user's codebase with this id, or their ``global`` one when none is
    named. Unknown ids (and other users' ids) are a 422 on ``field``. Each
    app reads a codebase's identity once (see ``fast_create``)."""
    wanted = codebase_id or GLOBAL_CODEBASE_ID
    known = fast_create.known_codebase(user.space_pk, wanted)
    if known is not None:
        return known
    codebase = db.session.scalar(_BY_ID, {"space_pk": user.space_pk, "id": wanted})
    if codebase is None:
        raise ValidationFailed(
            field,
            f"No codebase '{wanted}'. Use one of your codebase ids, or leave it empty for '{GLOBAL_CODEBASE_ID}'.",
        )
    fast_create.remember_codebase(codebase)
    return codebase


def create_codebase(user: User, *, name: str, path: str | None = None, description: str | None = None) -> Codebase:
    spaces.require_role(user, "work")
    begin_write()
    codebase = Codebase(
        id=new_id("cb_", 16),
        user_pk=user.pk,
        space_pk=user.space_pk,
        name=name.strip(),
        path=path,
        description=description,
    )
    db.session.add(codebase)
    db.session.commit()
    return codebase
