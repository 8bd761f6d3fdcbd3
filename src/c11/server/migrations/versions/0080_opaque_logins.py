"""OPAQUE logins at the c11 server (docs/shards.md §8): registration records and logins in progress.

Revision 0080, after 0070; only adds tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0080"
down_revision = "0070"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "opaque_credentials",
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_opaque_credentials_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_opaque_credentials"),
    )
    op.create_table(
        "opaque_logins",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_opaque_logins_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_opaque_logins"),
    )
    op.create_index("ix_opaque_logins_user_id", "opaque_logins", ["user_id"])
    op.create_index("ix_opaque_logins_expires_at", "opaque_logins", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_opaque_logins_expires_at", table_name="opaque_logins")
    op.drop_index("ix_opaque_logins_user_id", table_name="opaque_logins")
    op.drop_table("opaque_logins")
    op.drop_table("opaque_credentials")
