"""processed events: handled_at, set only once the handler succeeded

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import storage.types
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processedevent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("handled_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    # Rows from before were written as their delivery started and never revisited: count
    # them as handled, as the code that wrote them did.
    op.execute("UPDATE processedevent SET handled_at = received_at")


def downgrade() -> None:
    with op.batch_alter_table("processedevent", schema=None) as batch_op:
        batch_op.drop_column("handled_at")
