"""Per-task callbacks: a subscription scoped to one task (subscriptions.task_id,
its URL sealed in target_sealed), fired once (deliveries.callback, unique per
subscription), and the URL's shown form on the task (tasks.callback_shown_url)

Revision ID: 0011_task_callbacks
Revises: 0010_caller_refs
Create Date: 2026-12-08 11:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_task_callbacks"
down_revision = "0010_caller_refs"
branch_labels = None
depends_on = None

ONCE = sa.text("callback IS NOT NULL")


def upgrade():
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("target_sealed", sa.Text(), nullable=True))
        batch_op.create_index("ix_subscriptions_task_id", ["task_id"], unique=True)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback", sa.Boolean(), nullable=True))
    op.create_index(
        "uq_deliveries_callback",
        "deliveries",
        ["subscription_pk"],
        unique=True,
        sqlite_where=ONCE,
        postgresql_where=ONCE,
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_shown_url", sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("callback_shown_url")
    op.drop_index("uq_deliveries_callback", table_name="deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("callback")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_task_id")
        batch_op.drop_column("target_sealed")
        batch_op.drop_column("task_id")
