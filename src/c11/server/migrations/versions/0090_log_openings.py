"""Openings of the actor commitments of v2 log entries (docs/log.md section 7).

Revision 0090, after 0060.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0090"
down_revision = "0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_openings",
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("person", sa.String(64), nullable=True),
        sa.Column("nonce", sa.LargeBinary(32), nullable=False),
        sa.Column("private", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("log_index", name="pk_log_openings"),
    )
    op.create_index("ix_log_openings_person", "log_openings", ["person"])


def downgrade() -> None:
    op.drop_index("ix_log_openings_person", table_name="log_openings")
    op.drop_table("log_openings")
