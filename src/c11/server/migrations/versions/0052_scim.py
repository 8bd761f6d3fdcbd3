"""SCIM provisioning (docs/organizations.md, SCIM): SCIM tokens, SCIM attributes of members, last change of groups.

Revision 0052, after 0051; only adds tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_scim_tokens_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_scim_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_scim_tokens_token_hash"),
    )
    op.create_index("ix_scim_tokens_org_id", "scim_tokens", ["org_id"])
    op.create_table(
        "scim_users",
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["org_members.id"], name="fk_scim_users_member_id_org_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_scim_users"),
    )
    op.create_table(
        "scim_groups",
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["org_groups.id"], name="fk_scim_groups_group_id_org_groups", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", name="pk_scim_groups"),
    )


def downgrade() -> None:
    op.drop_table("scim_groups")
    op.drop_table("scim_users")
    op.drop_table("scim_tokens")
