"""The floors: bare Flask endpoints doing the least the hub's routes must do,
served with the same gunicorn settings. ``gunicorn bench.floors:app``."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import hub.db  # noqa: F401  (the hub's SQLite pragmas apply to this engine too: same WAL/NORMAL)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Row(db.Model):
    __tablename__ = "floor_rows"
    __table_args__ = (Index("ix_floor_rows_owner_created", "owner", "created_at"),)
    pk: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("BENCH_FLOOR_DB", "sqlite://")
db.init_app(app)


def create_tables(url: str) -> None:
    """Once, before gunicorn starts (workers racing create_all would fail)."""
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


@app.get("/")
@app.get("/hello")
def hello():
    return {"hello": "world"}


@app.post("/insert")
def insert():
    row = Row(owner=1, title="Bench", body="Do the thing", created_at=datetime.now(UTC).replace(tzinfo=None))
    db.session.add(row)
    db.session.commit()
    return {"pk": row.pk}, 201


@app.get("/select")
def select_rows():
    rows = db.session.scalars(db.select(Row).where(Row.owner == 1).order_by(Row.created_at.desc()).limit(3)).all()
    return [{"pk": r.pk, "title": r.title, "created_at": r.created_at.isoformat()} for r in rows]
