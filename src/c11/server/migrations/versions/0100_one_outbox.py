"""One outbox status vocabulary (docs/notifications.md, "The outbox").

Revision 0100, after 0110. The server's own delivery step (gone) wrote `failed` for a message it gave up on and
left `sending` without a lease when it stopped mid-delivery; the one worker (`c11.notify.worker`) writes `dead` and
always takes a lease. Old rows are mapped: `failed` -> `dead`; `sending` without `locked_until` -> `pending`.
Downgrading keeps the rows as they are: the code of 0110 reads `dead` too.
"""

from __future__ import annotations

from alembic import op

revision = "0100"
down_revision = "0110"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE outbox_messages SET status = 'dead' WHERE status = 'failed'")
    op.execute(
        "UPDATE outbox_messages SET status = 'pending', claimed_by = NULL "
        "WHERE status = 'sending' AND locked_until IS NULL"
    )


def downgrade() -> None:
    pass
