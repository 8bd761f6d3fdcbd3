"""The import contract: one-way layers, no import cycles (imports inside functions and under TYPE_CHECKING count).

core ← local SDK ← web plumbing ← clients and services ← front ends; a module imports only its own layer or lower
ones, the clients and services do not import each other, and no set of modules imports itself in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# Lowest first: (layer, top-level components of c11, whether the components must not import each other).
LAYERS: list[tuple[str, frozenset[str], bool]] = [
    ("core", frozenset({"errors", "_internal", "crypto", "keys", "format", "log"}), False),
    (
        "local SDK",
        frozenset({"files", "_container", "rewrap", "groupkey", "indoc", "online", "orgrules", "documents"}),
        False,
    ),
    ("web plumbing", frozenset({"_web"}), False),
    ("clients and services", frozenset({"client", "server", "shardstore", "notify", "protector", "enterprise"}), True),
    ("front ends", frozenset({"cli", "desktop"}), False),
]

# Deliberate imports between independent components of one layer.
SIDEWAYS = {
    ("server", "notify"): "the server composes the notification service (its outbox) into its app",
    ("shardstore", "client"): "the shard store checks the c11 server's log as a client of it",
    ("protector", "client"): "the Cloud Protector protects through the SDK's sending planner (organization rules)",
}

# Imports that break the contract today, each with the engineer who removes it. An entry no longer present in
# the code fails the contract too: remove it when its fix lands.
EXCEPTIONS: dict[tuple[str, str], str] = {
    # upward or sideways
    # one edge per cycle
}


def _modules(src: Path) -> dict[str, Path]:
    mods = {}
    for p in sorted((src / "c11").rglob("*.py")):
        parts = list(p.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = p
    return mods


def _imports(src: Path) -> dict[str, dict[str, int]]:
    """For each module of c11 under `src`: the c11 modules it imports anywhere (module, function, TYPE_CHECKING),
    each with the first line doing it; `from pkg import name` counts as importing pkg.name when it is a module."""
    mods = _modules(src)
    graph: dict[str, dict[str, int]] = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        found: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target.startswith("c11") and target != mod:
                    found.setdefault(target, node.lineno)
        graph[mod] = found
    return graph


def _component(mod: str) -> str:
    return mod.split(".")[1] if "." in mod else ""


def _layer_of(component: str) -> int | None:
    return next((i for i, (_, comps, _) in enumerate(LAYERS) if component in comps), None)


def violations(graph: dict[str, dict[str, int]], exceptions: dict[tuple[str, str], str]) -> list[str]:
    """The imports that go up a layer or sideways between independent components, and the modules in no layer."""
    out = []
    for mod, targets in sorted(graph.items()):
        comp = _component(mod)
        if comp == "":
            continue  # c11/__init__.py: the lazy facade (c11.Client) over everything
        mine = _layer_of(comp)
        if mine is None:
            out.append(f"{mod}: c11.{comp} is in no layer (add it to LAYERS in tests/core/test_layers.py)")
            continue
        for target, line in sorted(targets.items()):
            other = _component(target)
            if (mod, target) in exceptions or other == comp:
                continue
            if other == "":
                continue  # c11 itself: only `__version__` is imported from it (names, not modules)
            theirs = _layer_of(other)
            if theirs is None:
                continue  # reported for the module itself
            if theirs > mine:
                out.append(f"{mod}:{line} imports {target}: {LAYERS[theirs][0]} is above {LAYERS[mine][0]}")
            elif theirs == mine and LAYERS[mine][2] and (comp, other) not in SIDEWAYS:
                out.append(f"{mod}:{line} imports {target}: {LAYERS[mine][0]} do not import each other")
    return out


def cycles(graph: dict[str, dict[str, int]], exceptions: dict[tuple[str, str], str]) -> list[list[str]]:
    """The sets of modules that import each other in a circle (strongly connected components, Tarjan)."""
    edges = {m: [t for t in ts if (m, t) not in exceptions and t in graph] for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return _imports(SRC)


def test_layers_are_one_way(graph):
    assert violations(graph, EXCEPTIONS) == []


def test_no_import_cycles(graph):
    assert cycles(graph, EXCEPTIONS) == []


def test_every_exception_is_still_needed(graph):
    stale = [f"{a} -> {b} ({who})" for (a, b), who in EXCEPTIONS.items() if b not in graph.get(a, {})]
    assert stale == [], "these imports are gone: remove them from EXCEPTIONS"
    used = {(_component(m), _component(x)) for m, targets in graph.items() for x in targets}
    assert [pair for pair in SIDEWAYS if pair not in used] == [], "remove these from SIDEWAYS"


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, dict[str, int]]:
    for name, text in files.items():
        p = tmp_path / "c11" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return _imports(tmp_path)


def test_contract_sees_imports_hidden_in_functions(tmp_path):
    g = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "format/__init__.py": "",
            "format/header.py": "def f():\n    from c11 import files\n",
            "files.py": "from .format import header\n",
            "cli/__init__.py": "",
            "cli/main.py": "",
            "server/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from c11.client import x\n",
            "client/__init__.py": "",
            "client/x.py": "",
            "orphan.py": "",
        },
    )
    assert g["c11.format.header"] == {"c11.files": 2}
    assert g["c11.files"] == {"c11.format.header": 1}
    assert violations(g, {}) == [
        "c11.format.header:2 imports c11.files: local SDK is above core",
        "c11.orphan: c11.orphan is in no layer (add it to LAYERS in tests/core/test_layers.py)",
        "c11.server:3 imports c11.client.x: clients and services do not import each other",
    ]
    assert cycles(g, {}) == [["c11.files", "c11.format.header"]]
    assert cycles(g, {("c11.files", "c11.format.header"): "test"}) == []
