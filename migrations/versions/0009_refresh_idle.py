"""oauth_tokens.refresh_expires_at dropped: refresh tokens idle out instead

A refresh token stops working once its connection went unused for
HUB_OAUTH_REFRESH_TOKEN_IDLE_SECONDS, counted from its issue (or the end of
a hook the app made) under the setting of the day, so no expiry is stored.

Revision ID: 0009_refresh_idle
Revises: 0008_health_checks
Create Date: 2026-12-08 09:00:00

"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_refresh_idle"
down_revision = "0008_health_checks"
branch_labels = None
depends_on = None

OLD_LIFETIME = timedelta(days=30)  # HUB_OAUTH_REFRESH_TOKEN_TTL's default before 0009


def upgrade():
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_column("refresh_expires_at")


def downgrade():
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refresh_expires_at", sa.DateTime(), nullable=True))
    # The code before 0009 needs an expiry on every refresh token: the old default lifetime from its issue.
    tokens = sa.table(
        "oauth_tokens",
        sa.column("pk", sa.Integer()),
        sa.column("refresh_hash", sa.String()),
        sa.column("issued_at", sa.DateTime()),
        sa.column("refresh_expires_at", sa.DateTime()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(tokens.c.pk, tokens.c.issued_at).where(tokens.c.refresh_hash.is_not(None)))
    for pk, issued_at in rows.all():
        bind.execute(tokens.update().where(tokens.c.pk == pk).values(refresh_expires_at=issued_at + OLD_LIFETIME))
