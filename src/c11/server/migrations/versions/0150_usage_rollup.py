"""Per-day rollups of usage events (the admin console's charts) and DNS TXT verification of domains.

Revision 0150, after 0140. Adds `usage_daily` (events per organization, UTC day and action),
`usage_daily_actors` (per organization, UTC day, actor and action) and `usage_daily_people` (per
organization, UTC day and actor), filled from `usage_events` here and
kept by the events indexer from now on (docs/organizations.md "Usage events"); and `org_domains.dns_token`,
the random value an organization publishes in a DNS TXT record to prove it controls a domain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0150"
down_revision = "0140"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_usage_daily_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "day", "action", name="pk_usage_daily"),
    )
    op.create_table(
        "usage_daily_actors",
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("member_id", sa.String(32), nullable=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_usage_daily_actors_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "day", "actor", "action", name="pk_usage_daily_actors"),
    )
    # one person's days (the per-day chart filtered by person) without reading everyone's
    op.create_index("ix_usage_daily_actors_org_actor_day", "usage_daily_actors", ["org_id", "actor", "day"])
    op.create_table(
        "usage_daily_people",
        sa.Column("org_id", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(32), nullable=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_usage_daily_people_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "day", "actor", name="pk_usage_daily_people"),
    )
    with op.batch_alter_table("org_domains") as t:
        t.add_column(sa.Column("dns_token", sa.String(64), nullable=True))
    # backfill: the same statements as c11.server.events.rollup.rebuild (kept here as they were at 0150)
    if op.get_bind().dialect.name == "postgresql":
        day = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    else:  # SQLite keeps UTC timestamps as text: "YYYY-MM-DD HH:MM:SS..."
        day = "substr(at, 1, 10)"
    op.execute(
        f"INSERT INTO usage_daily (org_id, day, action, n) "
        f"SELECT org_id, {day}, action, count(*) FROM usage_events GROUP BY org_id, {day}, action"
    )
    op.execute(
        f"INSERT INTO usage_daily_actors (org_id, day, actor, action, member_id, n) "
        f"SELECT org_id, {day}, actor, action, max(member_id), count(*) FROM usage_events "
        f"WHERE actor IS NOT NULL GROUP BY org_id, {day}, actor, action"
    )
    op.execute(
        f"INSERT INTO usage_daily_people (org_id, day, actor, member_id, n) "
        f"SELECT org_id, {day}, actor, max(member_id), count(*) FROM usage_events "
        f"WHERE actor IS NOT NULL GROUP BY org_id, {day}, actor"
    )
    if op.get_bind().dialect.name == "postgresql":  # statistics at once (autovacuum would come later)
        op.execute("ANALYZE usage_daily")
        op.execute("ANALYZE usage_daily_actors")
        op.execute("ANALYZE usage_daily_people")


def downgrade() -> None:
    with op.batch_alter_table("org_domains") as t:
        t.drop_column("dns_token")
    op.drop_table("usage_daily_people")
    op.drop_index("ix_usage_daily_actors_org_actor_day", table_name="usage_daily_actors")
    op.drop_table("usage_daily_actors")
    op.drop_table("usage_daily")
