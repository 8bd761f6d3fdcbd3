"""Organization encryption policies (docs/organizations.md "Encryption policies"): named recipient sets.

Revision 0160, after 0150. Adds `org_encryption_policies`: per organization, a unique name, the members'
emails and the group ids (JSON lists). Only addresses and ids: clients resolve every recipient through the
registry (with proofs) and add the sender and recovery keys by their own org rules; nothing here is key material.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0160"
down_revision = "0150"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_encryption_policies",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("emails", sa.Text(), nullable=False),
        sa.Column("group_ids", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name="fk_org_encryption_policies_org_id_organizations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_org_encryption_policies"),
        sa.UniqueConstraint("org_id", "name", name="uq_org_encryption_policies_org_id_name"),
    )


def downgrade() -> None:
    op.drop_table("org_encryption_policies")
