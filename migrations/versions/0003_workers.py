"""workers: worker tokens, workers, task leases and task output

Revision ID: 0006_workers
Revises: 0005_idempotency
Create Date: 2026-11-29 17:35:34.289945

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_workers"
down_revision = "0005_idempotency"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_tokens",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_worker_tokens")),
        sa.UniqueConstraint("id", name=op.f("uq_worker_tokens_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_worker_tokens_token_hash")),
    )
    op.create_table(
        "workers",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("codebases", sa.JSON(), nullable=False),
        sa.Column("agent_types", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_pk"], ["worker_tokens.pk"], name=op.f("fk_workers_token_pk_worker_tokens"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_workers")),
        sa.UniqueConstraint("id", name=op.f("uq_workers_id")),
        sa.UniqueConstraint("token_pk", "name", name="uq_workers_token_pk_name"),
    )
    op.create_table(
        "task_outputs",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.pk"], name=op.f("fk_task_outputs_task_pk_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_task_outputs")),
    )
    with op.batch_alter_table("task_outputs", schema=None) as batch_op:
        batch_op.create_index("ix_task_outputs_task_pk_pk", ["task_pk", "pk"], unique=False)

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker_pk", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_tasks_status_lease", ["status", "lease_expires_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_tasks_worker_pk_workers"), "workers", ["worker_pk"], ["pk"], ondelete="SET NULL"
        )


def downgrade():
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tasks_worker_pk_workers"), type_="foreignkey")
        batch_op.drop_index("ix_tasks_status_lease")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("worker_pk")

    with op.batch_alter_table("task_outputs", schema=None) as batch_op:
        batch_op.drop_index("ix_task_outputs_task_pk_pk")

    op.drop_table("task_outputs")
    op.drop_table("workers")
    op.drop_table("worker_tokens")
