"""Spaces: each user's personal space and organisations, their members
(memberships), invitations, audit entries and task share links; every owned
object and credential names its space (space_pk).

Upgrade gives every existing user a personal space, of which they are the
owner, and puts all their objects and credentials in it: nothing moves to an
organisation by force. Downgrade drops the organisations and all they own
(their tasks, codebases, hooks, worker tokens: the older schema cannot hold
them), then the spaces; a worker token of a personal space becomes hub-wide,
as every token was.

Revision ID: 0015_spaces
Revises: 0014_task_callbacks_many
Create Date: 2026-12-07 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0015_spaces"
down_revision = "0014_task_callbacks_many"
branch_labels = None
depends_on = None

# Owned by a user, now by a space too (NOT NULL once filled from the user's).
OWNED = (
    "tasks",
    "codebases",
    "conversations",
    "events",
    "subscriptions",
    "api_keys",
    "oauth_codes",
    "oauth_tokens",
    "oauth_grants",
)
# (table, old index, new index, columns after the first, where)
_WHEN = {"failed_at", "cancelled_at", "external_id"}
TASK_INDEXES = (
    ("ix_tasks_user_created", "ix_tasks_space_created", ["created_at", "pk"]),
    ("ix_tasks_user_status_created", "ix_tasks_space_status_created", ["status", "created_at", "pk"]),
    ("ix_tasks_user_completed", "ix_tasks_space_completed", ["completed_at"]),
    ("ix_tasks_user_failed", "ix_tasks_space_failed", ["failed_at"]),
    ("ix_tasks_user_cancelled", "ix_tasks_space_cancelled", ["cancelled_at"]),
    ("ix_tasks_user_external_id", "ix_tasks_space_external_id", ["external_id", "created_at", "pk"]),
)


def _partial(columns):
    """The partial index condition of the task indexes that have one."""
    if columns[0] not in _WHEN:
        return {}
    condition = sa.text(f"{columns[0]} IS NOT NULL")
    return {"sqlite_where": condition, "postgresql_where": condition}


def upgrade():
    op.create_table(
        "spaces",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_spaces")),
        sa.UniqueConstraint("id", name=op.f("uq_spaces_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_spaces_slug")),
    )
    op.create_table(
        "memberships",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("space_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), server_default="hub", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_pk"], ["spaces.pk"], name=op.f("fk_memberships_space_pk_spaces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_memberships_user_pk_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_memberships")),
        sa.UniqueConstraint("space_pk", "user_pk", name="uq_memberships_space_pk_user_pk"),
    )
    op.create_index(op.f("ix_memberships_user_pk"), "memberships", ["user_pk"], unique=False)
    op.create_table(
        "invitations",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("space_pk", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=True),
        sa.Column("created_by_pk", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_pk"], ["users.pk"], name=op.f("fk_invitations_created_by_pk_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["space_pk"], ["spaces.pk"], name=op.f("fk_invitations_space_pk_spaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_invitations")),
        sa.UniqueConstraint("id", name=op.f("uq_invitations_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_index(op.f("ix_invitations_space_pk"), "invitations", ["space_pk"], unique=False)
    op.create_table(
        "audit_entries",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("space_pk", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_pk", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=150), nullable=True),
        sa.Column("credential", sa.String(length=80), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_pk"], ["users.pk"], name=op.f("fk_audit_entries_actor_pk_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["space_pk"], ["spaces.pk"], name=op.f("fk_audit_entries_space_pk_spaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_entries_id")),
    )
    op.create_index(op.f("ix_audit_entries_at"), "audit_entries", ["at"], unique=False)
    op.create_index("ix_audit_entries_space_pk_pk", "audit_entries", ["space_pk", "pk"], unique=False)
    op.create_table(
        "share_links",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_pk", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_pk"], ["users.pk"], name=op.f("fk_share_links_created_by_pk_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.pk"], name=op.f("fk_share_links_task_pk_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_share_links")),
        sa.UniqueConstraint("id", name=op.f("uq_share_links_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    op.create_index(op.f("ix_share_links_task_pk"), "share_links", ["task_pk"], unique=False)

    _personal_spaces()

    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("personal_space_pk", nullable=False)
        batch_op.create_foreign_key(op.f("fk_users_personal_space_pk_spaces"), "spaces", ["personal_space_pk"], ["pk"])
    for table in OWNED:
        op.add_column(table, sa.Column("space_pk", sa.Integer(), nullable=True))
        owned = sa.table(table, sa.column("user_pk", sa.Integer), sa.column("space_pk", sa.Integer))
        users = sa.table("users", sa.column("pk", sa.Integer), sa.column("personal_space_pk", sa.Integer))
        personal = sa.select(users.c.personal_space_pk).where(users.c.pk == owned.c.user_pk).scalar_subquery()
        op.execute(owned.update().values(space_pk=personal))
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("space_pk", nullable=False)
            batch_op.create_foreign_key(
                op.f(f"fk_{table}_space_pk_spaces"), "spaces", ["space_pk"], ["pk"], ondelete="CASCADE"
            )
    with op.batch_alter_table("worker_tokens") as batch_op:
        batch_op.add_column(sa.Column("space_pk", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_worker_tokens_space_pk_spaces"), "spaces", ["space_pk"], ["pk"], ondelete="CASCADE"
        )
        batch_op.create_index(op.f("ix_worker_tokens_space_pk"), ["space_pk"], unique=False)

    with op.batch_alter_table("tasks") as batch_op:
        for old, new, columns in TASK_INDEXES:
            batch_op.drop_index(old)
            batch_op.create_index(new, ["space_pk", *columns], unique=False, **_partial(columns))
    with op.batch_alter_table("codebases") as batch_op:
        batch_op.drop_constraint("uq_codebases_user_pk_id", type_="unique")
        batch_op.create_unique_constraint("uq_codebases_space_pk_id", ["space_pk", "id"])
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_constraint("uq_conversations_user_pk_id", type_="unique")
        batch_op.create_unique_constraint("uq_conversations_space_pk_id", ["space_pk", "id"])
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index("ix_events_user_type_pk")
        batch_op.create_index("ix_events_space_type_pk", ["space_pk", "type", "pk"], unique=False)
    with op.batch_alter_table("subscriptions") as batch_op:
        batch_op.drop_index("ix_subscriptions_user_event")
        batch_op.create_index("ix_subscriptions_space_event", ["space_pk", "event"], unique=False)
    with op.batch_alter_table("oauth_grants") as batch_op:
        batch_op.drop_constraint("uq_oauth_grants_user_pk_client_pk", type_="unique")
        batch_op.create_unique_constraint("uq_oauth_grants_user_pk_client_pk", ["user_pk", "client_pk", "space_pk"])


def _personal_spaces():
    """A personal space for each user, owned by them."""
    op.add_column("users", sa.Column("personal_space_pk", sa.Integer(), nullable=True))
    connection = op.get_bind()
    users = sa.table(
        "users",
        sa.column("pk", sa.Integer),
        sa.column("username", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("personal_space_pk", sa.Integer),
    )
    spaces = sa.table(
        "spaces",
        sa.column("pk", sa.Integer),
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    memberships = sa.table(
        "memberships",
        sa.column("space_pk", sa.Integer),
        sa.column("user_pk", sa.Integer),
        sa.column("role", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    # The space's id is derived from the user's pk: unique, and no random
    # ids needed in a migration.
    for pk, username, created_at in connection.execute(sa.select(users.c.pk, users.c.username, users.c.created_at)):
        space_pk = connection.execute(
            spaces.insert()
            .values(id=f"sp_user{pk}", kind="personal", name=username, created_at=created_at)
            .returning(spaces.c.pk)
        ).scalar_one()
        connection.execute(
            memberships.insert().values(space_pk=space_pk, user_pk=pk, role="owner", created_at=created_at)
        )
        connection.execute(users.update().where(users.c.pk == pk).values(personal_space_pk=space_pk))


def _pks(table, column, among):
    rows = sa.table(table, sa.column("pk", sa.Integer), sa.column(column, sa.Integer))
    return sa.select(rows.c.pk).where(rows.c[column].in_(among))


def _delete(table, column, among):
    rows = sa.table(table, sa.column(column, sa.Integer))
    op.execute(rows.delete().where(rows.c[column].in_(among)))


def downgrade():
    spaces = sa.table("spaces", sa.column("pk", sa.Integer), sa.column("kind", sa.String))
    orgs = sa.select(spaces.c.pk).where(spaces.c.kind == "org")
    # What organisations own has no owner in the older schema. Children
    # first, explicitly: SQLite enforces no cascade unless asked.
    subscriptions, events = _pks("subscriptions", "space_pk", orgs), _pks("events", "space_pk", orgs)
    _delete("delivery_attempts", "delivery_pk", _pks("deliveries", "subscription_pk", subscriptions))
    _delete("delivery_attempts", "delivery_pk", _pks("deliveries", "event_pk", events))
    _delete("deliveries", "subscription_pk", subscriptions)
    _delete("deliveries", "event_pk", events)
    tasks = _pks("tasks", "space_pk", orgs)
    _delete("task_outputs", "task_pk", tasks)
    op.execute(sa.text("DELETE FROM share_links"))
    _delete("messages", "conversation_pk", _pks("conversations", "space_pk", orgs))
    _delete("workers", "token_pk", _pks("worker_tokens", "space_pk", orgs))
    for table in ("events", "subscriptions", "tasks", "conversations", "codebases", "worker_tokens", *OWNED[5:]):
        _delete(table, "space_pk", orgs)

    with op.batch_alter_table("oauth_grants") as batch_op:
        batch_op.drop_constraint("uq_oauth_grants_user_pk_client_pk", type_="unique")
        batch_op.create_unique_constraint("uq_oauth_grants_user_pk_client_pk", ["user_pk", "client_pk"])
    with op.batch_alter_table("subscriptions") as batch_op:
        batch_op.drop_index("ix_subscriptions_space_event")
        batch_op.create_index("ix_subscriptions_user_event", ["user_pk", "event"], unique=False)
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index("ix_events_space_type_pk")
        batch_op.create_index("ix_events_user_type_pk", ["user_pk", "type", "pk"], unique=False)
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_constraint("uq_conversations_space_pk_id", type_="unique")
        batch_op.create_unique_constraint("uq_conversations_user_pk_id", ["user_pk", "id"])
    with op.batch_alter_table("codebases") as batch_op:
        batch_op.drop_constraint("uq_codebases_space_pk_id", type_="unique")
        batch_op.create_unique_constraint("uq_codebases_user_pk_id", ["user_pk", "id"])
    with op.batch_alter_table("tasks") as batch_op:
        for old, new, columns in TASK_INDEXES:
            batch_op.drop_index(new)
            batch_op.create_index(old, ["user_pk", *columns], unique=False, **_partial(columns))
    with op.batch_alter_table("worker_tokens") as batch_op:
        batch_op.drop_index(op.f("ix_worker_tokens_space_pk"))
        batch_op.drop_constraint(op.f("fk_worker_tokens_space_pk_spaces"), type_="foreignkey")
        batch_op.drop_column("space_pk")
    for table in OWNED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(op.f(f"fk_{table}_space_pk_spaces"), type_="foreignkey")
            batch_op.drop_column("space_pk")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint(op.f("fk_users_personal_space_pk_spaces"), type_="foreignkey")
        batch_op.drop_column("personal_space_pk")
    op.drop_index(op.f("ix_share_links_task_pk"), table_name="share_links")
    op.drop_table("share_links")
    op.drop_index("ix_audit_entries_space_pk_pk", table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_at"), table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_index(op.f("ix_invitations_space_pk"), table_name="invitations")
    op.drop_table("invitations")
    op.drop_index(op.f("ix_memberships_user_pk"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("spaces")
