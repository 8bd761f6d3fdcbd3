"""Resumable uploads and sends/share links (issue 15, docs/sharing.md).

Revision 0120, after 0100. Adds `uploads` (ciphertext being uploaded to the blob store, invisible until
complete), `sends`, `send_versions` and `send_recipients` (Secure Document Send and share links).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0120"
down_revision = "0100"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=80), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("part_size", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Text(), nullable=False),
        sa.Column("tail_size", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("attached_to", sa.String(length=32), nullable=True),
        sa.Column("writer", sa.String(length=32), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("completed_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    with op.batch_alter_table("uploads") as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_attached_to"), ["attached_to"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploads_owner"), ["owner"], unique=False)
        batch_op.create_index("ix_uploads_status_expires_at", ["status", "expires_at"], unique=False)
    op.create_table(
        "sends",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sender_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("max_downloads", sa.Integer(), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("revoked_log_index", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("retention", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["sender_id"], ["users.id"], name=op.f("fk_sends_sender_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sends")),
    )
    with op.batch_alter_table("sends") as batch_op:
        batch_op.create_index(batch_op.f("ix_sends_sender_id"), ["sender_id"], unique=False)
    op.create_table(
        "send_recipients",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("send_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("outbox_id", sa.String(length=32), nullable=True),
        sa.Column("emailed_at", _TS, nullable=True),
        sa.Column("opened_at", _TS, nullable=True),
        sa.Column("downloaded_at", _TS, nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["send_id"], ["sends.id"], name=op.f("fk_send_recipients_send_id_sends"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_recipients")),
    )
    with op.batch_alter_table("send_recipients") as batch_op:
        batch_op.create_index(batch_op.f("ix_send_recipients_email_hash"), ["email_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_send_recipients_send_id"), ["send_id"], unique=False)
    op.create_table(
        "send_versions",
        sa.Column("send_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("blobs", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["send_id"], ["sends.id"], name=op.f("fk_send_versions_send_id_sends"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("send_id", "version", name=op.f("pk_send_versions")),
    )


def downgrade() -> None:
    op.drop_table("send_versions")
    op.drop_table("send_recipients")
    op.drop_table("sends")
    op.drop_table("uploads")
