"""`c11 inspect`: what anyone can learn from a protected file without a key."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def inspect(path, as_json) -> None:
    """Show version, document ID, sender (and whether the signature verifies), recipients, sizes."""
    from c11 import protect
    from c11.cli._output import emit_json, when

    info = protect.inspect(sys.stdin.buffer if path == "-" else path)
    if as_json:
        emit_json(info.to_dict())
        return
    sig = "valid" if info.signature_valid else "INVALID (do not trust this file)"
    lines = [
        f"{path}: c11 {info.kind}, format version {info.version}",
        f"  document ID:  {info.doc_id}",
        f"  created:      {when(info.created)}",
        f"  sender:       {info.sender or '(no label)'} (signing key {info.sender_fingerprint})",
        f"  signature:    {sig}",
        f"  recipients:   {len(info.recipients)}",
    ]
    lines += [f"    {r['fingerprint']}  {r['type']}" for r in info.recipients]
    for ext in info.extensions:
        lines.append(f"  extension:    {ext['type']}{' (critical)' if ext['critical'] else ''}")
    if info.entries is not None:
        lines.append(f"  files:        {info.entries}")
    lines.append(f"  header:       {info.header_size} bytes; segments of {info.segment_size} bytes")
    if info.total_size is not None:
        lines.append(f"  file size:    {info.total_size} bytes")
    click.echo("\n".join(lines))
