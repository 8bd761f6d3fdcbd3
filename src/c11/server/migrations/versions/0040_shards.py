"""Cloud-stored keys in shards (docs/shards.md): the c11 server's own shard, used store tokens, key archives.

Revision 0040, after 0030; only adds tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0030"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cloud_keys",
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("split_id", sa.String(32), nullable=False),
        sa.Column("shard", sa.LargeBinary(), nullable=False),
        sa.Column("placements", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_cloud_keys_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name="pk_cloud_keys"),
    )
    op.create_table(
        "shard_token_uses",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("store", sa.String(500), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_shard_token_uses"),
    )
    op.create_index("ix_shard_token_uses_user_id", "shard_token_uses", ["user_id"])
    op.create_table(
        "key_archives",
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_key_archives_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name="pk_key_archives"),
    )


def downgrade() -> None:
    op.drop_table("key_archives")
    op.drop_index("ix_shard_token_uses_user_id", table_name="shard_token_uses")
    op.drop_table("shard_token_uses")
    op.drop_table("cloud_keys")
