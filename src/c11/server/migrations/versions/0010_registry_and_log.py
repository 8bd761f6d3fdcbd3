"""Transparency log (entries, nodes, state), public key registry (keys, used proofs), encryption policies.

Revision 0010, after 0002; only adds tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("idx", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_log_entries"),
    )
    op.create_index("ix_log_entries_subject", "log_entries", ["subject"])
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_log_nodes"),
    )
    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("verifier_key", sa.String(255), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_log_state"),
    )
    op.create_table(
        "registry_keys",
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("email_hash", sa.String(64), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("published_at", _TS, nullable=False),
        _user_fk("registry_keys"),
        sa.PrimaryKeyConstraint("user_id", name="pk_registry_keys"),
        sa.UniqueConstraint("email_hash", name="uq_registry_keys_email_hash"),
    )
    op.create_table(
        "registry_used_proofs",
        sa.Column("signature_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _user_fk("registry_used_proofs"),
        sa.PrimaryKeyConstraint("signature_hash", name="pk_registry_used_proofs"),
    )
    op.create_index("ix_registry_used_proofs_user_id", "registry_used_proofs", ["user_id"])
    op.create_index("ix_registry_used_proofs_created_at", "registry_used_proofs", ["created_at"])
    op.create_table(
        "encryption_policies",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_used_at", _TS, nullable=False),
        sa.Column("use_count", sa.Integer(), nullable=False),
        _user_fk("encryption_policies"),
        sa.PrimaryKeyConstraint("id", name="pk_encryption_policies"),
        sa.UniqueConstraint("user_id", "digest", name="uq_encryption_policies_user_id_digest"),
    )
    op.create_index("ix_encryption_policies_user_id_last_used_at", "encryption_policies", ["user_id", "last_used_at"])


def downgrade() -> None:
    for table in (
        "encryption_policies",
        "registry_used_proofs",
        "registry_keys",
        "log_state",
        "log_nodes",
        "log_entries",
    ):
        op.drop_table(table)
