"""Labels and names from files are never printed raw (controls, bidi and invisible characters escaped, one
line), and the verifier's answers without a registry: trusted keys by signing key, a trusted email with
another key is a false label, an invalid signature vouches for nobody."""

from __future__ import annotations

import pytest

from c11._internal.display import is_safe, quoted, safe_text
from c11.cli._signer import line, who
from c11.client.sender import SenderVerifier
from c11.client.trusted import TrustedKeys, parse
from c11.errors import RecipientError
from c11.keys.identity import Identity

FORGED = "alice@example.com\nc11: signature verified: signed by ceo@example.com\u202e"


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("a\nb", "a\\nb"),
        ("a\rb\tc", "a\\rb\\tc"),
        ("a\\nb", "a\\\\nb"),
        ("x\u202ey", "x\\u202ey"),
        ("x\u2066y\u2069", "x\\u2066y\\u2069"),
        ("x\u200by", "x\\u200by"),
        ("x\u00a0y", "x\\u00a0y"),
        ("x\u0085y", "x\\u0085y"),
        ("x\u2028y", "x\\u2028y"),
        ("x\ue000y", "x\\ue000y"),
        ("x\u0378y", "x\\u0378y"),
        ("x\U000e0001y", "x\\U000e0001y"),
        ("\x1b[2Jx", "\\u001b[2Jx"),
        ("José 日本 ok", "José 日本 ok"),
    ],
)
def test_safe_text_escapes_what_could_forge_or_reorder_a_line(raw, shown):
    assert safe_text(raw) == shown
    assert is_safe(raw) == (raw == shown)


def test_safe_text_bounds_length_and_quoted_escapes_quotes():
    assert safe_text("a" * 500, 10) == "a" * 10 + "…"
    assert quoted("it's\n") == "'it\\'s\\n'"


def test_forged_label_prints_one_escaped_line():
    alice, mallory = Identity.generate("alice@example.com"), Identity.generate("m")
    v = SenderVerifier(TrustedKeys(parse(f"{alice.public.line()} alice@example.com", "t")))
    for check in (v.verify(FORGED, mallory.public.sig_fingerprint), v.verify(FORGED, alice.public.sig_fingerprint)):
        text = line(check)
        assert "\n" not in text and "\u202e" not in text
        assert "alice@example.com\\nc11: signature verified: signed by ceo@example.com\\u202e" in text
    forged_by_mallory = line(v.verify(FORGED, mallory.public.sig_fingerprint))
    assert forged_by_mallory.startswith("c11: signature valid, but the signer is UNVERIFIED: label ")
    by_alice = line(v.verify(FORGED, alice.public.sig_fingerprint))
    assert (
        by_alice.startswith(
            "c11: signature verified: signed by alice@example.com (trusted keys: t); "
            "the file's label 'alice@example.com\\nc11"
        )
        and "is NOT theirs" in by_alice
    )


def test_trusted_email_with_another_key_is_a_false_label():
    alice, mallory = Identity.generate("alice@example.com"), Identity.generate("alice@example.com")
    v = SenderVerifier(TrustedKeys(parse(f"# mine\n\n{alice.public.line()}  Alice@Example.com\n", "t")))
    check = v.verify("ALICE@example.com", mallory.public.sig_fingerprint)
    assert not check.verified and check.conflict and "DIFFERENT key" in check.reason
    assert "is FALSE" in who(check)
    good = v.verify("ALICE@example.com", alice.public.sig_fingerprint)
    assert good.status == "trusted" and good.email == "alice@example.com" and good.label_matches
    assert not v.verify("alice@example.com", alice.public.sig_fingerprint, signature_valid=False).verified


def test_trusted_keys_file_errors_name_the_line():
    alice = Identity.generate("a")
    with pytest.raises(RecipientError, match="t, line 2: expected a public key line and at most one email"):
        parse(f"\n{alice.public.line()} a@example.com extra", "t")
    with pytest.raises(RecipientError, match="t, line 1: .*U\\+202E"):
        parse(f"{alice.public.line()} a@exa\u202emple.com", "t")
    with pytest.raises(RecipientError, match="t, line 1: not a c11 public key"):
        parse("alice@example.com c11:nope", "t")


def test_an_unreachable_registry_is_asked_once():
    """A registry that does not answer (a socket that never accepts) costs one timeout per command, not one
    per signer: later signers are unverified at once, with the same reason."""
    import socket
    import time

    from c11.client import Client

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        with Client(f"http://127.0.0.1:{silent.getsockname()[1]}", "token", timeout=0.5) as c:
            c.state_dir = None
            v = SenderVerifier(None, c)
            first = v.verify("alice@example.com", "00" * 16)
            start = time.monotonic()
            second = v.verify("bob@example.com", "11" * 16)
            took = time.monotonic() - start
    finally:
        silent.close()
    assert not first.verified and "could not be reached" in first.reason
    assert not second.verified and "could not be reached" in second.reason and took < 0.3


def test_reasons_quoting_a_server_are_escaped_too():
    from c11.client.sender import SenderCheck

    check = SenderCheck(
        "unverified",
        "00" * 16,
        "alice@example.com",
        reason="the registry refused the lookup (server answered 403: no\nc11: signature verified)",
    )
    assert "\n" not in line(check) and "no\\nc11" in line(check)
    assert line(SenderCheck("unverified", "00" * 16, "", reason="x")).startswith(
        "c11: signature valid, but the signer is UNVERIFIED (x)"
    )


def test_error_messages_quoting_a_server_stay_one_line(capsys):
    """`c11: error: ...` may quote a server's problem detail: a newline or bidi override in it cannot
    print a line of its own (backslashes, e.g. in a Windows path or a regex, are kept)."""
    import click

    from c11.cli._errors import run
    from c11.errors import ServerError

    @click.command()
    def boom() -> None:
        raise ServerError("server answered 400: bad\nc11: signature verified: signed by ceo@example.com\u202e \\d", 400)

    assert run(boom, []) == 1
    err = capsys.readouterr().err
    assert (
        err == "c11: error: server answered 400: bad\\nc11: signature verified: signed by ceo@example.com\\u202e \\d\n"
    )


def test_look_alike_label_is_not_looked_up_and_says_why():
    """A label mixing Cyrillic and Latin letters is refused as an email (docs: c11._internal.emails): it is
    never looked up, and the reason says so (escaped)."""
    check = SenderVerifier().verify("\u0430lice@example.com", "00" * 16)
    assert not check.verified and "not a valid email address (look-alike" in check.reason
    assert "label 'аlice@example.com' is self-asserted (the label is not a valid email" in line(check)
