"""Key server: online-policy documents, their recipients and every access attempt; invitations (temporary keys).

Revision 0020; only adds tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0010"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "online_documents",
        sa.Column("doc_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(32), nullable=False),
        sa.Column("policy_digest", sa.String(64), nullable=False),
        sa.Column("server_key", sa.String(32), nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name="fk_online_documents_author_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("doc_id", name="pk_online_documents"),
    )
    op.create_index("ix_online_documents_author_id", "online_documents", ["author_id"])
    op.create_table(
        "online_recipients",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("doc_id", sa.String(36), nullable=False),
        sa.Column("email_hash", sa.String(64), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("key_fp", sa.String(32), nullable=True),
        sa.Column("added_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id"],
            ["online_documents.doc_id"],
            name="fk_online_recipients_doc_id_online_documents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_online_recipients"),
    )
    op.create_index("ix_online_recipients_doc_id_email_hash", "online_recipients", ["doc_id", "email_hash"])
    op.create_index("ix_online_recipients_doc_id_key_fp", "online_recipients", ["doc_id", "key_fp"])
    op.create_table(
        "online_accesses",
        sa.Column("log_index", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("doc_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("key_fp", sa.String(32), nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("log_index", name="pk_online_accesses"),
    )
    op.create_index("ix_online_accesses_doc_id_log_index", "online_accesses", ["doc_id", "log_index"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_hash", sa.String(64), nullable=False),
        sa.Column("inviter_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("last_sent_at", _TS, nullable=False),
        sa.Column("send_count", sa.Integer(), nullable=False),
        sa.Column("accepted_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["inviter_id"], ["users.id"], name="fk_invitations_inviter_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
    )
    op.create_index("ix_invitations_email", "invitations", ["email"])
    op.create_index("ix_invitations_email_hash", "invitations", ["email_hash"])
    op.create_index("ix_invitations_inviter_id", "invitations", ["inviter_id"])


def downgrade() -> None:
    op.drop_table("invitations")
    op.drop_table("online_accesses")
    op.drop_table("online_recipients")
    op.drop_table("online_documents")
