"""The enterprise key server's first schema: members, audit, revoked documents.

Revision ID: e0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from c11._web.db import UTCDateTime

revision = "e0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ent_members",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("kem", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("public_line", sa.Text, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("kek_id", sa.String(200), nullable=False, index=True),
        sa.Column("enc_wrapped", sa.LargeBinary, nullable=False),
        sa.Column("sig_wrapped", sa.LargeBinary, nullable=False),
        sa.Column("deactivated_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "ent_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False, index=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("ent_members.id"), nullable=True),
        sa.Column("doc_id", sa.String(32), nullable=True, index=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
    )
    op.create_table(
        "ent_revoked_documents",
        sa.Column("doc_id", sa.String(32), primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ent_revoked_documents")
    op.drop_table("ent_audit")
    op.drop_table("ent_members")
