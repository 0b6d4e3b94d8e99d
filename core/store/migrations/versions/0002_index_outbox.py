"""index outbox: one row per change, with attempts

Revision ID: 0002_index
Revises: 0001_initial

The unique key on (entity, entity_id) made a change that arrived while the feed was sending the row's
previous state disappear with that row. Now every change adds a row and the feed deletes only the rows it
read, so a later change stays queued. `attempts` and `last_error` show documents Elasticsearch rejects.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_index"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("index_queue") as batch_op:
        batch_op.drop_constraint("uq_index_queue", type_="unique")
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_index_queue_entity", ["entity", "entity_id"], unique=False)


def downgrade() -> None:
    # Collapse duplicates first, or the unique key cannot come back.
    op.execute(
        "DELETE FROM index_queue WHERE id NOT IN "
        "(SELECT max_id FROM (SELECT MAX(id) AS max_id FROM index_queue GROUP BY entity, entity_id) AS keep)"
    )
    with op.batch_alter_table("index_queue") as batch_op:
        batch_op.drop_index("ix_index_queue_entity")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
        batch_op.create_unique_constraint("uq_index_queue", ["entity", "entity_id"])
