"""Downloads of a send counted per recipient, with a download ID (docs/sharing.md "Limits").

Revision 0140, after 0130. Adds to `send_recipients` the recipient's current download: `download_key` (SHA-256
of its ID), `download_version` (the version whose files it fetches) and `download_left` (its byte budget).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0140"
down_revision = "0130"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("send_recipients") as t:
        t.add_column(sa.Column("download_key", sa.String(length=64), nullable=True))
        t.add_column(sa.Column("download_version", sa.Integer(), nullable=True))
        t.add_column(sa.Column("download_left", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("send_recipients") as t:
        t.drop_column("download_left")
        t.drop_column("download_version")
        t.drop_column("download_key")
