"""Production work factors are the defaults; the suite lowers them only explicitly.

Argon2id (password hashes): `Config.password_hashing`, a typed field with no C11_* variable or TOML key, lowered by
srvkit.server_config. scrypt (key files): `keyfile.ScryptCost`, lowered for the test process and its CLI runs by
C11_TEST_ONLY_INSECURE_SCRYPT_LOG_N (tests/conftest.py, srvkit.cli_env). The OPAQUE KSF (Argon2id m=19456 KiB,
t=2, p=1, fixed in opaque-ke-py and given to @serenity-kit/opaque as "argon2id-custom") is never lowered, so both
sides always agree (tests/vectors/opaque).
"""

from __future__ import annotations

import json

import pytest
from srvkit import PASSWORD, TEST_SCRYPT_ENV, run_cli

from c11.errors import ConfigError, KeyFileError
from c11.keys import keyfile
from c11.keys.identity import Identity
from c11.server.config import SETTINGS, Config, PasswordHashing, load_config


def _server_hash(server) -> str:
    """A password hash made by the running server's own hasher (what it stores for an Argon2 login)."""
    return server._server.config.app.state.ctx.passwords.hash(PASSWORD)


def test_argon2id_production_parameters_are_the_default(fresh_server, tmp_path):
    assert Config(data_dir=tmp_path, database_url="sqlite://").password_hashing == PasswordHashing()
    assert load_config({"data_dir": str(tmp_path)}, env={}).password_hashing == PasswordHashing()
    assert not any("password_hashing" in s.key or "argon" in s.key for s in SETTINGS)  # no variable lowers it
    assert (PasswordHashing().time_cost, PasswordHashing().memory_kib, PasswordHashing().parallelism) == (3, 65536, 4)
    real = fresh_server(password_hashing=PasswordHashing())
    assert _server_hash(real).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # the suite's servers ask for the test-only cost explicitly (srvkit.server_config)
    cheap = fresh_server()
    assert cheap.config.password_hashing == PasswordHashing.test_only()
    assert _server_hash(cheap).startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_test_only_argon2id_is_refused_off_loopback(tmp_path):
    with pytest.raises(ConfigError, match="non-loopback"):
        Config(
            data_dir=tmp_path, database_url="sqlite://", host="0.0.0.0", password_hashing=PasswordHashing.test_only()
        )
    assert Config(data_dir=tmp_path, database_url="sqlite://", host="0.0.0.0").password_hashing.is_production


def test_scrypt_production_cost_is_the_default(tmp_path):
    assert keyfile.ScryptCost.default({}) == keyfile.ScryptCost() == keyfile.ScryptCost(16, 8, 2)
    ident = Identity.generate("factors@example.com")
    assert json.loads(keyfile.dumps(ident, "pass phrase", keyfile.ScryptCost()))["secret"]["log_n"] == 16
    with pytest.raises(KeyFileError, match=TEST_SCRYPT_ENV):
        keyfile.ScryptCost.default({TEST_SCRYPT_ENV: "8"})  # below what readers accept
    # `c11 keygen` without the test-only variable writes log_n 16, r 8, p 2
    out = tmp_path / "real.key"
    r = run_cli(["keygen", "-o", str(out)], tmp_path / "cfg", {TEST_SCRYPT_ENV: "", "C11_PASSPHRASE": "pass phrase"})
    assert r.returncode == 0, r.stderr
    secret = json.loads(out.read_text())["secret"]
    assert (secret["protection"], secret["log_n"], secret["r"], secret["p"]) == ("scrypt", 16, 8, 2)
    # the suite's CLI runs ask for the test-only cost explicitly (srvkit.cli_env), and say so
    out = tmp_path / "cheap.key"
    r = run_cli(["keygen", "-o", str(out)], tmp_path / "cfg", {"C11_PASSPHRASE": "pass phrase"})
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["secret"]["log_n"] == 10 and "TEST-ONLY" in r.stderr
    assert keyfile.KeyFile(json.loads(out.read_text()), "cheap").unlock("pass phrase").fingerprint
