"""What the signatures of a protected file cover, in words (docs/format.md §2.4, §13).

Printed by `c11 decrypt` and `c11 inspect` next to the signer line: a version 1 file's content is not
signed; a rotated file was re-encrypted by its author; `inspect` on a pipe could not check the content.
"""

from __future__ import annotations


def decrypt_lines(info) -> list[str]:  # noqa: ANN001 - a protect.FileInfo
    """Lines for stderr after a successful decryption."""
    if info.version == 1:
        return [
            "c11: WARNING: format version 1 file: its content is NOT signed, only its header (any recipient "
            "could have replaced the content); ask the sender to encrypt it again with a current c11"
        ]
    if info.rotated:
        return ["c11: the content was rotated (re-encrypted under a new key) by the signer above, who signed it"]
    return []


def inspect_value(info) -> str:  # noqa: ANN001 - a protect.FileInfo
    """The `content:` value of `c11 inspect`."""
    if info.version == 1:
        return "NOT signed (format version 1: only the header is signed; any recipient could replace the content)"
    if info.content_signed:
        return "signed by the author" + (
            " (rotated: re-encrypted under a new key by the author)" if info.rotated else ""
        )
    if not info.signature_valid:
        return "INVALID: not what the author signed (do not trust this file)"
    return "not checked (the input could not be read twice); c11 decrypt checks it"
