"""Secure Document Request (issue 15, docs/sharing.md "Document requests").

Revision 0130, after 0120. Adds `doc_requests` (signed requests, their link's token hash, status, limits),
`doc_request_items` (the protected answers and files, through uploads) and `request_templates`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0130"
down_revision = "0120"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "doc_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("template_id", sa.String(length=32), nullable=True),
        sa.Column("max_files", sa.Integer(), nullable=False),
        sa.Column("max_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("opened_at", _TS, nullable=True),
        sa.Column("submitted_at", _TS, nullable=True),
        sa.Column("downloaded_at", _TS, nullable=True),
        sa.Column("cancelled_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_doc_requests_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doc_requests")),
        sa.UniqueConstraint("owner_id", "name", name="uq_doc_requests_owner_name"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_doc_requests_token_hash")),
    )
    op.create_index(op.f("ix_doc_requests_owner_id"), "doc_requests", ["owner_id"])
    op.create_table(
        "doc_request_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=26), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("upload_id", sa.String(length=64), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["doc_requests.id"],
            name=op.f("fk_doc_request_items_request_id_doc_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doc_request_items")),
        sa.UniqueConstraint("request_id", "n", name="uq_doc_request_items_request_n"),
    )
    op.create_index(op.f("ix_doc_request_items_request_id"), "doc_request_items", ["request_id"])
    op.create_table(
        "request_templates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_request_templates_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_request_templates_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_templates")),
    )
    op.create_index(op.f("ix_request_templates_owner_id"), "request_templates", ["owner_id"])
    op.create_index(op.f("ix_request_templates_org_id"), "request_templates", ["org_id"])


def downgrade() -> None:
    op.drop_table("request_templates")
    op.drop_table("doc_request_items")
    op.drop_table("doc_requests")
