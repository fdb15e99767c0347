"""Several per-task callbacks per task (subscriptions.task_id no longer unique),
the headers a callback's caller asked for, sealed (subscriptions.headers_sealed),
the event a callback also delivers before its end (subscriptions.progress_event), and the
caller's own id for a callback (subscriptions.external_id: an A2A push config's id)

Downgrade keeps each task's first callback and deletes the others (their
deliveries go with them: ON DELETE CASCADE): the older schema holds one per task.

Revision ID: 0014_task_callbacks_many
Revises: 0013_mcp_oauth
Create Date: 2026-12-07 19:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014_task_callbacks_many"
down_revision = "0013_mcp_oauth"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_task_id")
        batch_op.create_index("ix_subscriptions_task_id", ["task_id"], unique=False)
        batch_op.add_column(sa.Column("headers_sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("progress_event", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))


def downgrade():
    subscriptions = sa.table("subscriptions", sa.column("pk", sa.Integer), sa.column("task_id", sa.String))
    callback = subscriptions.c.task_id.is_not(None)
    firsts = sa.select(sa.func.min(subscriptions.c.pk)).where(callback).group_by(subscriptions.c.task_id)
    op.execute(subscriptions.delete().where(callback, subscriptions.c.pk.not_in(firsts.scalar_subquery())))
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("external_id")
        batch_op.drop_column("progress_event")
        batch_op.drop_column("headers_sealed")
        batch_op.drop_index("ix_subscriptions_task_id")
        batch_op.create_index("ix_subscriptions_task_id", ["task_id"], unique=True)
