"""Protector state: objects and cursors.

Revision p0001, the first of the protector's own branch (apart from the key server's migrations).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0001"
down_revision = None
branch_labels = ("protector",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "protector_objects",
        sa.Column("connection", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(1024), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("etag", sa.String(200)),
        sa.Column("mtime", sa.DateTime(timezone=True)),
        sa.Column("size", sa.Integer()),
        sa.Column("action", sa.String(32)),
        sa.Column("detectors", sa.Text()),
        sa.Column("target", sa.String(1024)),
        sa.Column("target_etag", sa.String(200)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("doc_id", sa.String(36)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_protector_objects_status", "protector_objects", ["status"])
    op.create_table(
        "protector_cursors",
        sa.Column("connection", sa.String(200), primary_key=True),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("protector_cursors")
    op.drop_index("ix_protector_objects_status", "protector_objects")
    op.drop_table("protector_objects")
