"""The CLI glue modules import one another one way (no cycle hidden by an import inside a function), and the
SDK modules of sending and key lifecycle import no front end."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "c11"
GLUE = (
    "_recipients",
    "_registry",
    "_cloud",
    "_identity",
    "invites",
    "keys",
    "encrypt",
    "protect",
    "reencrypt",
    "account",
)


def _imports(path: Path) -> set[str]:
    """Every c11 module `path` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("c11"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("c11")}
    return found


def test_cli_glue_has_no_import_cycle():
    graph = {
        m: {
            i.split(".")[2]
            for i in _imports(SRC / "cli" / f"{m}.py")
            if i.startswith("c11.cli.") and i.split(".")[2] in GLUE
        }
        - {m}
        for m in GLUE
    }
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        assert m not in path, f"import cycle: {' -> '.join([*path, m])}"
        if m in done:
            return
        for d in sorted(graph[m]):
            visit(d, [*path, m])
        done.add(m)

    for m in GLUE:
        visit(m, [])


def test_sdk_modules_import_no_front_end():
    for rel in (
        "orgrules.py",
        "client/sending.py",
        "client/org_policy.py",
        "client/key_lifecycle.py",
        "keys/recipients_file.py",
    ):
        bad = sorted(
            i
            for i in _imports(SRC / rel)
            if i in ("c11.cli", "c11.server") or i.startswith(("c11.cli.", "c11.server."))
        )
        assert not bad, f"{rel} imports {bad}"
    assert not {i for i in _imports(SRC / "orgrules.py") if i.startswith("c11.client")}  # pure: core only
