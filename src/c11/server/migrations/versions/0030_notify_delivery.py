"""Notification delivery (docs/notifications.md): HTML body, retry schedule and worker lease on the outbox.

Revision 0030, after 0020; only adds nullable columns, so it is safe on a live database.
`body_html` holds the HTML alternative; `next_attempt_at` is when a queued row is due again (NULL: now);
`locked_until` and `claimed_by` are the lease and claim token of the worker sending it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0020"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as b:
        b.add_column(sa.Column("body_html", sa.Text(), nullable=True))
        b.add_column(sa.Column("next_attempt_at", _TS, nullable=True))
        b.add_column(sa.Column("locked_until", _TS, nullable=True))
        b.add_column(sa.Column("claimed_by", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as b:
        b.drop_column("claimed_by")
        b.drop_column("locked_until")
        b.drop_column("next_attempt_at")
        b.drop_column("body_html")
