"""health_checks: the row /readyz writes, so an unwritable database is not ready

Revision ID: 0008_health_checks
Revises: 0007_hook_client
Create Date: 2026-12-07 10:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_health_checks"
down_revision = "0007_hook_client"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "health_checks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_health_checks")),
    )
    op.bulk_insert(table, [{"name": "readyz", "checked_at": datetime.now(UTC).replace(tzinfo=None)}])


def downgrade():
    op.drop_table("health_checks")
