"""tasks.external_id and tasks.metadata (the caller's references), conversations.external_id;
partial indexes for the external_id, failed_* and cancelled_* filters

Revision ID: 0010_caller_refs
Revises: 0009_refresh_idle
Create Date: 2026-12-08 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_caller_refs"
down_revision = "0009_refresh_idle"
branch_labels = None
depends_on = None

# (index, its columns after user_pk): each holds only the tasks where the first of them is set.
PARTIAL = (
    ("ix_tasks_user_failed", ["failed_at"]),
    ("ix_tasks_user_cancelled", ["cancelled_at"]),
    ("ix_tasks_user_external_id", ["external_id", "created_at", "pk"]),
)


def upgrade():
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("metadata", sa.JSON(), nullable=True))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
    for name, columns in PARTIAL:
        condition = sa.text(f"{columns[0]} IS NOT NULL")
        op.create_index(
            name, "tasks", ["user_pk", *columns], unique=False, sqlite_where=condition, postgresql_where=condition
        )


def downgrade():
    for name, _ in PARTIAL:
        op.drop_index(name, table_name="tasks")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("external_id")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("metadata")
        batch_op.drop_column("external_id")
