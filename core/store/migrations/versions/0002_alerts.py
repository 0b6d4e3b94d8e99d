"""alerts: re-alert reach, acknowledgement clock, overdue flag, officer tokens, report deliveries

Revision ID: 0002_alerts
Revises: 0002_crawl
"""

import sqlalchemy as sa
from alembic import op

import wagewatch.core.store.types

revision = "0002_alerts"
down_revision = "0002_crawl"  # chained after the crawl-state migration
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alerted_reach", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notified_at", wagewatch.core.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("overdue", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_leads_overdue"), ["overdue"], unique=False)
    # Leads made before this revision were alerted when they were created.
    op.execute("UPDATE leads SET notified_at = created_at WHERE notified_at IS NULL")

    op.create_table(
        "officer_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", wagewatch.core.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", wagewatch.core.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("officer_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_officer_tokens_person_id"), ["person_id"], unique=False)

    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", wagewatch.core.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", wagewatch.core.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", wagewatch.core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "scope", "recipient_id", name="uq_report_delivery"),
    )
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_deliveries_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_deliveries_status"))
    op.drop_table("report_deliveries")
    with op.batch_alter_table("officer_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_officer_tokens_person_id"))
    op.drop_table("officer_tokens")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_overdue"))
        batch_op.drop_column("overdue")
        batch_op.drop_column("notified_at")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("alerted_reach")
