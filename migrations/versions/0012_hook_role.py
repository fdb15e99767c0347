"""subscriptions.role: a message.created hook may take only the user's or
only the agent's messages (Zapier's New Message wants the agent's replies)

Revision ID: 0012_hook_role
Revises: 0011_task_callbacks
Create Date: 2026-12-08 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_hook_role"
down_revision = "0011_task_callbacks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("role")
