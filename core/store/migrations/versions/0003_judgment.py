"""judgment: texts the model cannot call (待研判) and the resolution status of real cases

Revision ID: 0003_judgment
Revises: 0002_alerts
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_judgment"
down_revision = "0002_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("analyses", "incidents"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("needs_review", sa.Boolean(), nullable=False, server_default=sa.false()))
            batch_op.add_column(sa.Column("resolution", sa.String(length=16), nullable=True))


def downgrade() -> None:
    for table in ("incidents", "analyses"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("resolution")
            batch_op.drop_column("needs_review")
