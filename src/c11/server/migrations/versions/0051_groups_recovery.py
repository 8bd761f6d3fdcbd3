"""Group keys wrapped to members and organization recovery keys (docs/organizations.md).

Revision 0051, after 0050; only adds tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "org_group_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("rotation_due", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("retired_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["org_groups.id"], name="fk_org_group_keys_group_id_org_groups", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_org_group_keys"),
        sa.UniqueConstraint("group_id", "version", name="uq_org_group_keys_group_id_version"),
    )
    op.create_index("ix_org_group_keys_group_id", "org_group_keys", ["group_id"])
    op.create_index("ix_org_group_keys_fingerprint", "org_group_keys", ["fingerprint"])
    op.create_table(
        "org_group_key_wraps",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("member_key", sa.String(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["org_group_keys.id"], name="fk_org_group_key_wraps_key_id_org_group_keys", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["org_members.id"], name="fk_org_group_key_wraps_member_id_org_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key_id", "member_id", name="pk_org_group_key_wraps"),
    )
    op.create_index("ix_org_group_key_wraps_member_id", "org_group_key_wraps", ["member_id"])
    op.create_table(
        "org_recovery_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("retired_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_org_recovery_keys_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_org_recovery_keys"),
    )
    op.create_index("ix_org_recovery_keys_org_id", "org_recovery_keys", ["org_id"])


def downgrade() -> None:
    op.drop_table("org_recovery_keys")
    op.drop_table("org_group_key_wraps")
    op.drop_table("org_group_keys")
