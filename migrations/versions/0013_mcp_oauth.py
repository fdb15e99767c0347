"""oauth_clients.dynamic/registered_ip/last_used_at (RFC 7591 registration);
oauth_codes.resource, oauth_tokens.resource (RFC 8707 resource indicators)

Revision ID: 0013_mcp_oauth
Revises: 0012_hook_role
Create Date: 2026-12-07 16:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_mcp_oauth"
down_revision = "0012_hook_role"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dynamic", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("registered_ip", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resource", sa.String(length=255), nullable=True))
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resource", sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_column("resource")
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.drop_column("resource")
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("registered_ip")
        batch_op.drop_column("dynamic")
