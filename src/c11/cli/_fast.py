"""`c11 --help` without importing Click: the top-level help, rendered from `COMMANDS` exactly as Click renders it.

Importing Click costs more than Python's own start-up, so the console entry point (c11.cli.main) serves the
top-level help from here. It renders only what it can render exactly like Click's HelpFormatter (usage,
paragraphs, definition lists, plain words) and returns None for anything else (a hyphenated word that Click
could split at a line end, a word longer than a line, ...); Click then does it. tests/cli/test_fast_help.py
compares both renderings at every width, so they cannot drift apart.
"""

from __future__ import annotations

import os
import sys

USAGE = "Usage: c11 [OPTIONS] COMMAND [ARGS]..."
#: the options Click adds to the group (click.version_option and the help option), in its order
OPTIONS = (("--version", "Show the version and exit."), ("-h, --help", "Show this message and exit."))
HELP_ARGS = (["--help"], ["-h"])


def columns() -> int:
    """shutil.get_terminal_size().columns without importing shutil (which costs more than Python's start-up here):
    COLUMNS when it is a positive number, else the terminal's width of stdout, else 80."""
    try:
        n = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        n = 0
    if n <= 0:
        try:
            n = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            n = 0
        n = n or 80
    return n


def width() -> int:
    """The text width Click's HelpFormatter uses: the terminal's columns, at most 80, less 2 (at least 50)."""
    return max(min(columns(), 80) - 2, 50)


def _wrap(text: str, width: int, indent: str) -> list[str] | None:
    """Greedy word wrapping, as textwrap (Click's wrap_text) does for plain words separated by single spaces;
    None where textwrap could do otherwise (a hyphenated word starting a line, a word longer than a line)."""
    if not text or any(c in text for c in "\t\n\r\x0b\x0c\x08\x1b") or "  " in text or text != text.strip():
        return None
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if not line:
            if len(indent) + len(word) > width:
                return None
            line = word
        elif len(indent) + len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            if "-" in word:  # textwrap may have broken it after the hyphen, on this line
                return None
            lines.append(indent + line)
            line = word
    lines.append(indent + line)
    return lines


def _dl(rows: list[tuple[str, str]], width: int) -> list[str] | None:
    """Click's HelpFormatter.write_dl at indentation 2 (col_max 30, col_spacing 2)."""
    first_col = min(max(len(a) for a, _ in rows), 30) + 2
    text_width = max(width - first_col - 2, 10)
    out = []
    for first, second in rows:
        if len(first) > first_col - 2 or not second:
            return None
        wrapped = _wrap(second, text_width, "")
        if wrapped is None:
            return None
        out.append("  " + first.ljust(first_col) + wrapped[0])
        out.extend(" " * (first_col + 2) + line for line in wrapped[1:])
    return out


def _paragraphs(text: str, width: int) -> list[str] | None:
    """The group's help text (cleaned docstring form) at indentation 2: plain paragraphs wrapped, `\\b` ones as is."""
    out: list[str] = []
    for par in text.strip("\n").split("\n\n"):
        lines = par.split("\n")
        if out:
            out.append("")
        if lines[0] == "\b":
            if any(not line or line != line.rstrip() or "\t" in line for line in lines[1:]):
                return None
            out.extend("  " + line for line in lines[1:])
            continue
        if any(line != line.strip() for line in lines):
            return None
        wrapped = _wrap(" ".join(lines), width, "  ")
        if wrapped is None:
            return None
        out.extend(wrapped)
    return out


def top_help(commands: dict[str, tuple[str, str, str]], group_help: str, width: int) -> str | None:
    """The text `c11 --help` prints (with its final newline), or None when only Click can render it exactly."""
    body = _paragraphs(group_help, width)
    options = _dl(list(OPTIONS), width)
    rows = _dl([(name, commands[name][2]) for name in sorted(commands)], width)
    if body is None or options is None or rows is None:
        return None
    return "\n".join([USAGE, "", *body, "", "Options:", *options, "", "Commands:", *rows]) + "\n"


def serve_help(argv: list[str], commands: dict[str, tuple[str, str, str]], group_help: str) -> int | None:
    """Print the top-level help for `c11 --help` / `c11 -h` and return the exit status; None: not served here."""
    if argv not in HELP_ARGS:
        return None
    text = top_help(commands, group_help, width())
    if text is None:
        return None
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `c11 --help | head -1`: as c11.cli._errors.run answers it
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return 0
