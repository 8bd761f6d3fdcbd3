"""The README's shell examples run, in order, against a real `c11 serve`: the README stays the source.

Every fenced ```sh block of README.md runs (bash, `set -e -o pipefail`) in one temporary folder, with the `c11`
under test first on the PATH, a temporary HOME, `C11_PASSPHRASE`/`C11_PASSWORD` set, the suite's test-only scrypt
cost for the key files it writes (tests/server/test_work_factors.py shows the production default), `C11_DATA_DIR` naming
the server's data folder (as for an operator on the server's machine) and `http://127.0.0.1:8000` replaced by
the URL of a `c11 serve` started on a free port (SQLite). A block that cannot run unattended is marked just
above it with `<!-- readme-test: skip: REASON -->`; any other `readme-test` comment fails the test. The test
plays the reader's part where the README asks for it: it provides the reader's own documents (`report.pdf`,
`project/`, `report.docx`, `payroll.xlsx`, `scan.pdf`, `patients.json`) and, after a block that runs
`c11 signup ... --email ADDRESS`, opens the verification link emailed to ADDRESS.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from srvkit import SRC, TEST_SCRYPT_ENV, TEST_SCRYPT_LOG_N, confirm_email, outbox_message, verification_link

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEFAULT_URL = "http://127.0.0.1:8000"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
_DIRECTIVE = re.compile(r"<!--\s*readme-test:(.*?)-->\s*$")
_VERIFY_PLACEHOLDER = "c11v_..."  # the token of the README's `c11 verify` example link
_SIGNUP = re.compile(r"\bc11 signup\b.*?--email\s+(\S+)")


@dataclass(frozen=True)
class Block:
    """One fenced block of the README: language, code, first line number, skip reason (None: run it)."""

    lang: str
    code: str
    line: int
    skip: str | None


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks of `text`, each with the `readme-test` directive on the line just above it."""
    blocks = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        above = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = None
        directive = _DIRECTIVE.search(above)
        if directive:
            kind, _, reason = directive.group(1).strip().partition(":")
            assert kind.strip() == "skip" and reason.strip(), (
                f"README.md line {line - 1}: write <!-- readme-test: skip: REASON -->, not {above!r}"
            )
            skip = reason.strip()
        blocks.append(Block(m.group(1), m.group(2), line + 1, skip))
    return blocks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reader_documents(work: Path) -> None:
    """The reader's own files the examples protect (the README says to use one's own)."""
    import docx
    import openpyxl
    from reportlab.pdfgen import canvas

    for name, pages in (("report.pdf", 1), ("scan.pdf", 3)):
        c = canvas.Canvas(str(work / name))
        for n in range(pages):
            c.drawString(72, 720, f"{name} page {n + 1}: quarterly figures")
            c.showPage()
        c.save()
    (work / "project").mkdir()
    (work / "project" / "plan.md").write_text("# Plan\n\nShip it.\n")
    (work / "project" / "budget.csv").write_text("item,cost\nservers,100\n")
    d = docx.Document()
    d.add_heading("Salary", 1)
    d.add_paragraph("Everyone's pay is in the tables below.")
    for rows in (2, 3):
        t = d.add_table(rows=rows, cols=2)
        for r in range(rows):
            t.cell(r, 0).text, t.cell(r, 1).text = f"name {r}", f"{1000 * (r + 1)}"
    d.save(work / "report.docx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Staff"
    ws.append(["Name", "Salary"])
    ws.append(["Ann", 51234])
    wb.create_sheet("Bonus").append(["Ann", 5000])
    wb.save(work / "payroll.xlsx")
    (work / "patients.json").write_text(
        json.dumps({"patients": [{"name": "Ann", "ssn": "123-45-6789"}, {"name": "Bob", "ssn": "987-65-4321"}]})
    )


def _environment(tmp: Path, data: Path) -> dict[str, str]:
    """The reader's shell: the c11 under test first on the PATH, a temporary home, passwords set."""
    bindir = tmp / "bin"
    bindir.mkdir()
    shim = bindir / "c11"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m c11.cli.main "$@"\n')
    shim.chmod(0o755)
    home = tmp / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("C11_", "XDG_"))}
    env.update(
        PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        NO_COLOR="1",
        PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        C11_PASSPHRASE="a passphrase for the README",
        C11_PASSWORD="correct horse battery staple",
        C11_DATA_DIR=str(data),
    )
    env[TEST_SCRYPT_ENV] = TEST_SCRYPT_LOG_N  # cheap passphrase-protected key files
    return env


def _start_server(env: dict[str, str], data: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        ["c11", "serve", "--port", str(port)], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, f"c11 serve did not start:\n{log.read_text()}"
        time.sleep(0.1)


def test_readme_opens_with_the_two_commands():
    first = readme_blocks(README.read_text())[0]
    commands = [line.split("#")[0].strip() for line in first.code.splitlines()]
    assert commands == ["python3 dev.py serve", "python3 dev.py test"]


def test_readme_shell_examples_run_in_order(tmp_path):
    blocks = [b for b in readme_blocks(README.read_text()) if b.lang == "sh"]
    runnable = [b for b in blocks if b.skip is None]
    assert len(runnable) >= 5, "most of the README's examples must run"
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    _reader_documents(work)
    env = _environment(tmp_path, data)
    server, url = _start_server(env, data, tmp_path / "serve.log")
    links: list[str] = []  # verification links emailed to the README's sign-ups, not yet used
    try:
        for block in runnable:
            assert "…" not in block.code, f"README.md line {block.line}: a placeholder in a block that runs"
            code = block.code.replace(DEFAULT_URL, url)
            while _VERIFY_PLACEHOLDER in code:  # `c11 verify 'LINK'`: the reader pastes the link from the email
                assert links, f"README.md line {block.line}: c11 verify before any sign-up"
                code = code.replace(_VERIFY_PLACEHOLDER, links.pop(0).split("/verify#token=", 1)[1], 1)
            r = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", code],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert r.returncode == 0 and "Traceback" not in r.stderr, (
                f"README.md block at line {block.line} failed (exit {r.returncode}):\n{block.code}\n"
                f"--- stdout\n{r.stdout[-2000:]}\n--- stderr\n{r.stderr[-3000:]}"
            )
            for address in _SIGNUP.findall(block.code):
                links.append(verification_link(outbox_message(data, address)))
        for link in links:  # sign-ups the README does not confirm with c11 verify: the reader opens the link
            assert confirm_email(link).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
