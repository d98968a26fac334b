"""anonymous rounds: answers staged apart, the round key in a table of its own

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "surveyroundkey",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["surveyround.id"]),
        sa.PrimaryKeyConstraint("round_id"),
    )
    op.create_table(
        "surveystaged",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("question_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["surveyround.id"]),
        sa.PrimaryKeyConstraint("round_id", "slot", "question_id"),
        sqlite_with_rowid=False,
    )
    # Rounds open during the upgrade keep their key and their answers (already under
    # keyed slots), now where open rounds keep them.
    op.execute(
        "INSERT INTO surveyroundkey (round_id, key) SELECT id, round_key FROM surveyround "
        "WHERE closed_at IS NULL AND round_key IS NOT NULL"
    )
    op.execute(
        "INSERT INTO surveystaged (round_id, slot, question_id, team_id, score, value) "
        "SELECT a.round_id, a.slot, a.question_id, a.team_id, a.score, a.value "
        "FROM surveyanswer a JOIN surveyroundkey k ON k.round_id = a.round_id"
    )
    op.execute("DELETE FROM surveyanswer WHERE round_id IN (SELECT round_id FROM surveyroundkey)")
    op.execute("UPDATE surveyround SET round_key = NULL")
    # A plain ALTER (SQLite >= 3.35): a batch copy would drop a table others refer to.
    op.drop_column("surveyround", "round_key")


def downgrade() -> None:
    op.add_column("surveyround", sa.Column("round_key", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE surveyround SET round_key = "
        "(SELECT key FROM surveyroundkey k WHERE k.round_id = surveyround.id)"
    )
    op.execute(
        "INSERT INTO surveyanswer (team_id, round_id, question_id, slot, score, value) "
        "SELECT team_id, round_id, question_id, slot, score, value FROM surveystaged"
    )
    op.drop_table("surveystaged")
    op.drop_table("surveyroundkey")
