"""Usage events indexed from the log (docs/organizations.md, Usage events).

Revision 0053, after 0052.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("member_id", sa.String(32), nullable=True),
        sa.Column("doc_id", sa.String(36), nullable=True),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("target_member_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_usage_events_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "log_index", name="pk_usage_events"),
    )
    op.create_index("ix_usage_events_org_at", "usage_events", ["org_id", "at", "log_index"])
    op.create_index("ix_usage_events_org_actor_at", "usage_events", ["org_id", "actor", "at", "log_index"])
    op.create_index("ix_usage_events_org_action_at", "usage_events", ["org_id", "action", "at", "log_index"])
    op.create_index("ix_usage_events_doc_id", "usage_events", ["doc_id"])
    op.create_table(
        "usage_index_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_idx", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_usage_index_state"),
    )
    # the indexer's single row exists from the start, so concurrent first runs only ever lock it
    op.execute(
        sa.text("INSERT INTO usage_index_state (id, next_idx, updated_at) VALUES (1, 0, :now)").bindparams(
            sa.bindparam("now", datetime.now(UTC), type_=_TS)
        )
    )


def downgrade() -> None:
    op.drop_table("usage_index_state")
    op.drop_index("ix_usage_events_doc_id", table_name="usage_events")
    op.drop_index("ix_usage_events_org_action_at", table_name="usage_events")
    op.drop_index("ix_usage_events_org_actor_at", table_name="usage_events")
    op.drop_index("ix_usage_events_org_at", table_name="usage_events")
    op.drop_table("usage_events")
