"""reliable sends and ledger: send leases, lead version counter, revocable officer tokens

Revision ID: 0003_reliable
Revises: 0003_judgment
"""

import sqlalchemy as sa
from alembic import op

import wagewatch.core.store.types

revision = "0003_reliable"
down_revision = "0003_judgment"  # chained after the classifier judgment migration
branch_labels = None
depends_on = None

SENDS = ("alert_deliveries", "report_deliveries", "ops_alerts")


def upgrade() -> None:
    for table in SENDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("lease_until", wagewatch.core.store.types.UTCDateTime(timezone=True), nullable=True)
            )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("officer_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_at", wagewatch.core.store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("officer_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("version")
    for table in SENDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("lease_until")
