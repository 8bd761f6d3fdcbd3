"""Check that the Word add-in calls no Word API newer than its requirement set (WordApi 1.4) unless guarded.

Every Word call of the add-in is in web/addin/src/officeword.ts (other add-in files may not name `Word.`). The
check copies @types/office-js with every member of the `Word` namespace whose doc says `[Api set: WordApi 1.5]` or
newer (or WordApiDesktop, WordApiOnline, WordApiHiddenDocument) taken out, and type-checks the adapter against it
with `tsc --strict`: a newer call no longer type-checks. An error inside an
`if (...isSetSupported("WordApi...", "...")) { ... }` block is allowed (the call is guarded).

    .venv/bin/python tests/web/addin_apicheck.py   # exit 1 and one line per unguarded call
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
TYPES = WEB / "node_modules" / "@types" / "office-js" / "index.d.ts"
ADAPTER = WEB / "addin" / "src" / "officeword.ts"
MAX = (1, 4)
_SET = re.compile(r"\[Api set: (Word\w*) (\d+)\.(\d+)")


def _allowed(comment: str) -> bool:
    m = _SET.search(comment)
    if m is None:
        return True
    return m.group(1) == "WordApi" and (int(m.group(2)), int(m.group(3))) <= MAX


def trim(dts: str) -> tuple[str, int]:
    """The type declarations without the Word members newer than WordApi 1.4; and how many were taken out."""
    lines = dts.splitlines(keepends=True)
    out: list[str] = []
    in_word = False
    depth = 0
    removed = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if not in_word and line.startswith("declare namespace Word {"):
            in_word, depth = True, 0
        if in_word and line.lstrip().startswith("/**"):
            j = i
            while "*/" not in lines[j]:
                j += 1
            comment = "".join(lines[i : j + 1])
            k = j + 1  # the declaration: to its ";" or its closing brace
            body_depth = 0
            while k < len(lines):
                body_depth += lines[k].count("{") - lines[k].count("}")
                if body_depth <= 0 and (lines[k].rstrip().endswith((";", "}", ",")) or body_depth < 0):
                    break
                k += 1
            if not _allowed(comment):
                removed += 1
                i = k + 1
                continue
            out.extend(lines[i : j + 1])
            i = j + 1
            continue
        if in_word:
            depth += line.count("{") - line.count("}")
            if depth <= 0 and "}" in line:
                in_word = False
        out.append(line)
        i += 1
    return "".join(out), removed


def guarded_lines(source: str) -> set[int]:
    """Line numbers (from 1) inside blocks guarded by `isSetSupported("WordApi…", …)`."""
    out: set[int] = set()
    for m in re.finditer(r"if\s*\([^{]*isSetSupported\(\s*\"Word\w*\"[^{]*\{", source):
        depth, pos = 1, m.end()
        while depth and pos < len(source):
            depth += {"{": 1, "}": -1}.get(source[pos], 0)
            pos += 1
        first = source.count("\n", 0, m.start()) + 1
        out.update(range(first, source.count("\n", 0, pos) + 2))
    return out


def check(adapter: Path = ADAPTER) -> list[str]:
    """Problems found (empty: the adapter keeps to WordApi 1.4 or guards what is newer)."""
    problems = []
    for f in sorted((WEB / "addin" / "src").glob("*.ts*")):
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", f.read_text(encoding="utf-8"), flags=re.S)
        if f.name != "officeword.ts" and re.search(
            r"(?<![\w\".])Word\.[a-z]\w*\b|\bWord\.(?:run|RequestContext|Range|ContentControl)\b", code
        ):
            problems.append(f"{f.relative_to(ROOT)}: calls the Word API outside officeword.ts")
    trimmed, removed = trim(TYPES.read_text(encoding="utf-8"))
    if removed < 100:
        problems.append(f"only {removed} newer Word members found in @types/office-js: the check is broken")
    with tempfile.TemporaryDirectory(prefix="c11-apicheck-") as tmp:
        (Path(tmp) / "office.d.ts").write_text(trimmed, encoding="utf-8")
        config = {
            "compilerOptions": {
                "target": "ES2022",
                "lib": ["ES2022", "DOM", "DOM.Iterable"],
                "module": "ESNext",
                "moduleResolution": "bundler",
                "strict": True,
                "noEmit": True,
                "skipLibCheck": True,
                "types": [],
                "typeRoots": [],
            },
            "files": [str(Path(tmp) / "office.d.ts"), str(adapter)],
        }
        (Path(tmp) / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
        tsc = WEB / "node_modules" / ".bin" / "tsc"
        run = subprocess.run([str(tsc), "-p", tmp], capture_output=True, text=True, timeout=300, cwd=WEB)
    guarded = guarded_lines(adapter.read_text(encoding="utf-8"))
    for line in (run.stdout + run.stderr).splitlines():
        m = re.match(r"(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)", line)
        if not m:
            continue
        if Path(m.group(1)).name == adapter.name and int(m.group(2)) in guarded:
            continue
        problems.append(f"{Path(m.group(1)).name}:{m.group(2)}: not in WordApi 1.4 and not guarded: {m.group(5)}")
    if run.returncode != 0 and not problems and not guarded:
        problems.append(f"tsc failed: {(run.stdout + run.stderr).strip()[:300]}")
    return problems


def main() -> int:
    problems = check()
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
