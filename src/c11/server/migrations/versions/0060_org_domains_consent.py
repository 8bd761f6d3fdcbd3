"""Organizations prove their email domains; members' consent; who made, who wrapped group keys (organizations.md).

Revision 0060, after 0053. Existing members get `consent` NULL (not consented: no recovery key is served
with their lookups and no admin action reaches them) except root admins made by the operator (`operator`);
verifying a domain later confirms the organization's members at that domain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0060"
down_revision = "0053"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "org_domains",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("mailbox", sa.String(320), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(320), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("verified_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_org_domains_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_org_domains"),
        sa.UniqueConstraint("org_id", "domain", name="uq_org_domains_org_id_domain"),
    )
    op.create_index("ix_org_domains_org_id", "org_domains", ["org_id"])
    op.create_index("ix_org_domains_domain", "org_domains", ["domain"])
    op.create_index("ix_org_domains_token_hash", "org_domains", ["token_hash"])
    op.add_column("org_members", sa.Column("consent", sa.String(16), nullable=True))
    op.add_column("org_group_keys", sa.Column("created_by", sa.String(32), nullable=True))
    op.add_column("org_group_key_wraps", sa.Column("wrapped_by", sa.String(32), nullable=True))
    op.execute("UPDATE org_members SET consent = 'operator' WHERE is_admin AND added_by IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("org_group_key_wraps") as b:
        b.drop_column("wrapped_by")
    with op.batch_alter_table("org_group_keys") as b:
        b.drop_column("created_by")
    with op.batch_alter_table("org_members") as b:
        b.drop_column("consent")
    op.drop_table("org_domains")
