"""`c11 inspect`: what anyone can learn from a protected file without a key."""

from __future__ import annotations

import sys

import click

from c11.cli._signer import trust_option


@click.command()
@click.argument("path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@trust_option
def inspect(path, as_json, trust_files) -> None:
    """Show version, document ID, sender (and whether the signature verifies), recipients, sizes.

    The sender is shown as verified only through your trusted keys or the registry's log (when logged
    in: the registry learns the sender's email you look up); else its label is marked UNVERIFIED."""
    from c11 import files
    from c11._internal.display import safe_text
    from c11.cli import _content, _signer
    from c11.cli._output import emit_json, when

    if path != "-" and _document(path, as_json, trust_files):
        return
    info = files.inspect(sys.stdin.buffer if path == "-" else path)
    verifier = _signer.verifier(trust_files)
    check = verifier.annotate(info)
    resharer = verifier.resharer(info)
    from c11.cli._enterprise import enterprise_fingerprint  # C11_ENTERPRISE_KEYSERVER: which key is held there

    held = enterprise_fingerprint()
    if as_json:
        out = info.to_dict()
        for r in out.get("recipients", []):
            if held and r.get("fingerprint") == held[0]:
                r["key_type"], r["key_server"] = "enterprise", held[1]
        emit_json(out)
        return
    sig = "valid" if info.signature_valid else "INVALID (do not trust this file)"
    lines = [
        f"{path}: c11 {info.kind}, format version {info.version}",
        f"  document ID:  {info.doc_id}",
        f"  created:      {when(info.created)}",
        f"  sender:       {_signer.who(check)}",
        f"  signing key:  {info.sender_fingerprint}",
        *([f"  re-shared by: {_signer.who(resharer)} (signing key {resharer.fingerprint})"] if resharer else []),
        f"  signature:    {sig}",
        f"  content:      {_content.inspect_value(info)}",
        f"  recipients:   {len(info.recipients)}",
    ]
    lines += [
        f"    {r['fingerprint']}  {safe_text(r['type'])}"
        + (
            "  TEMPORARY KEY: not zero-trust (held by the key server until they register); "
            "re-encrypt once they have: c11 reencrypt"
            if r.get("temporary")
            else ""
        )
        + (
            f"  ENTERPRISE KEY: held by your organization's key server {safe_text(held[1])}, which opens it"
            if held and r["fingerprint"] == held[0]
            else ""
        )
        for r in info.recipients
    ]
    for ext in info.extensions:
        lines.append(f"  extension:    {safe_text(ext['type'])}{' (critical)' if ext['critical'] else ''}")
        if ext.get("server"):  # online policy (docs/keyserver.md)
            exp = when(ext["expires"]) if ext.get("expires") else "never (at encryption)"
            lines.append(
                f"  online policy: key server {safe_text(ext['server'])}; expires {exp}; "
                "the author can revoke, expire and audit it (c11 revoke, c11 expire, c11 access)"
            )
    if info.entries is not None:
        lines.append(f"  files:        {info.entries}")
    lines.append(f"  header:       {info.header_size} bytes; segments of {info.segment_size} bytes")
    if info.total_size is not None:
        lines.append(f"  file size:    {info.total_size} bytes")
    click.echo("\n".join(lines))


def _document(path: str, as_json: bool, trust_files: tuple[str, ...] = ()) -> bool:
    """A protected Word/Excel/... document (not a .c11 file): list its parts (docs/indoc.md)."""
    from pathlib import Path

    from c11 import files
    from c11._internal.display import safe_text
    from c11.cli._output import emit_json
    from c11.errors import NotC11FileError
    from c11.indoc import api

    if not api.supported(path):
        return False
    try:
        if files.sniff(Path(path)) in ("file", "armor"):
            return False
    except NotC11FileError:
        pass
    info = api.inspect_document(path)
    from c11.cli import _signer

    verifier = _signer.verifier(trust_files)
    checks = [verifier.verify(g["sender"], g["sender_fingerprint"], g["signature_valid"]) for g in info["groups"]]
    for g, check in zip(info["groups"], checks, strict=True):
        g["verified_sender"] = check.to_dict()
        resharer = verifier.resharer(g)
        g["verified_resharer"] = resharer.to_dict() if resharer else None
    if as_json:
        emit_json(info)
        return True
    lines = [
        f"{path}: c11-protected {info['format']} document",
        f"  document ID:  {info['doc_id']}",
        f"  note:         {safe_text(info['note']) if info['note'] else '(none)'}",
        f"  parts:        {len(info['parts'])}",
    ]
    for g, check in zip(info["groups"], checks, strict=True):
        sig = "valid" if g["signature_valid"] else "INVALID (do not trust this document)"
        lines.append(
            f"  group {g['group']}: signature {sig}; signer: {_signer.who(check)} (signing key {check.fingerprint})"
        )
        if g["verified_resharer"]:
            r = verifier.resharer(g)
            lines.append(f"    re-shared by {_signer.who(r)} (signing key {r.fingerprint})")
        lines += [f"    recipient {r['fingerprint']}  {safe_text(r['type'])}" for r in g["recipients"]]
        shown = g["locations"][:20]
        lines += [f"    part      {safe_text(loc, 100)}" for loc in shown]
        if len(g["locations"]) > len(shown):
            lines.append(f"    ... and {len(g['locations']) - len(shown)} more")
    click.echo("\n".join(lines))
    return True
