"""When each organization member consented (issue 12): admins get log openings only from then on.

Revision 0110, after 0080. Adds `org_members.consented_at`; members who consented before it existed get
their `added_at` (the best time known: consent was then given at, or recorded with, the addition).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0110"
down_revision = "0080"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("org_members", sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE org_members SET consented_at = added_at WHERE consent IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("org_members") as batch:
        batch.drop_column("consented_at")
