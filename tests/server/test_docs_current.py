"""docs/server.md stays true: its migrations table has a row for every revision the package ships, in order."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "server.md"


def test_migrations_table_lists_every_revision_in_order():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from c11.server import migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.SCRIPTS))
    chain = [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]
    assert chain[-1] == migrate.head()
    rows = re.findall(r"^\| (\d{4}) \|", DOC.read_text(), flags=re.M)
    missing = [r for r in chain if r not in rows]
    assert not missing, f"add these revisions to the migrations table of docs/server.md: {missing}"
    assert [r for r in rows if r in chain] == chain, "docs/server.md lists the migrations out of order"
