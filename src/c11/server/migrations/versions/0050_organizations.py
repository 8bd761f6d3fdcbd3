"""Organizations (docs/organizations.md): organizations with their policies, members and admins, groups.

Revision 0050, after 0040; only adds tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0040"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("policies", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
        sa.UniqueConstraint("name", name="uq_organizations_name"),
    )
    op.create_table(
        "org_members",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("permissions", sa.Text(), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("display_name", sa.String(255), nullable=True),
        sa.Column("added_by", sa.String(320), nullable=True),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("deactivated_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_org_members_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_org_members"),
        sa.UniqueConstraint("email", name="uq_org_members_email"),
    )
    op.create_index("ix_org_members_org_id", "org_members", ["org_id"])
    op.create_table(
        "org_groups",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_org_groups_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_org_groups"),
        sa.UniqueConstraint("org_id", "name", name="uq_org_groups_org_id_name"),
    )
    op.create_index("ix_org_groups_org_id", "org_groups", ["org_id"])
    op.create_table(
        "org_group_members",
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["org_groups.id"], name="fk_org_group_members_group_id_org_groups", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["org_members.id"], name="fk_org_group_members_member_id_org_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "member_id", name="pk_org_group_members"),
    )
    op.create_index("ix_org_group_members_member_id", "org_group_members", ["member_id"])


def downgrade() -> None:
    op.drop_table("org_group_members")
    op.drop_table("org_groups")
    op.drop_table("org_members")
    op.drop_table("organizations")
