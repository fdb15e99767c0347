"""subscriptions.oauth_client_pk: the app whose token subscribed

Revision ID: 0007_hook_client
Revises: 0006_accounts
Create Date: 2026-12-07 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_hook_client"
down_revision = "0006_accounts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oauth_client_pk", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_subscriptions_oauth_client_pk"), ["oauth_client_pk"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_subscriptions_oauth_client_pk_oauth_clients"),
            "oauth_clients",
            ["oauth_client_pk"],
            ["pk"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_subscriptions_oauth_client_pk_oauth_clients"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_subscriptions_oauth_client_pk"))
        batch_op.drop_column("oauth_client_pk")
