"""Configuration: defaults, TOML file, C11_* variables and flags, in that order of precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from c11.errors import ConfigError
from c11.server.config import SETTINGS, load_config


def test_defaults_use_the_user_data_dir():
    cfg = load_config(env={"HOME": "/home/x"})
    assert cfg.data_dir == Path("/home/x/.local/share/c11")
    assert cfg.database_url == "sqlite:////home/x/.local/share/c11/c11.db"
    assert cfg.port == 8000 and cfg.migrate and cfg.base_url == "http://127.0.0.1:8000"
    assert load_config(env={"XDG_DATA_HOME": "/xdg"}).data_dir == Path("/xdg/c11")


def test_precedence_toml_env_flags(tmp_path):
    f = tmp_path / "c11.toml"
    f.write_text(
        'port = 9000\nhost = "0.0.0.0"\nmigrate = false\n'
        '[oidc.google]\nissuer = "https://accounts.google.com"\nclient_id = "id"\nclient_secret = "s"\n'
    )
    env = {"C11_CONFIG_FILE": str(f), "C11_PORT": "9100", "HOME": "/h"}
    cfg = load_config({"port": 9200}, env=env)
    assert (cfg.port, cfg.host, cfg.migrate) == (9200, "0.0.0.0", False)
    assert load_config(env=env).port == 9100
    assert cfg.provider("google").issuer == "https://accounts.google.com"


def test_oidc_from_environment_and_public_url():
    cfg = load_config(
        env={
            "HOME": "/h",
            "C11_OIDC_ISSUER": "https://idp",
            "C11_OIDC_CLIENT_ID": "c",
            "C11_OIDC_CLIENT_SECRET": "s",
            "C11_OIDC_NAME": "entra",
            "C11_PUBLIC_URL": "https://c11.example.com/",
        }
    )
    assert cfg.provider("entra") and cfg.base_url == "https://c11.example.com" and cfg.cookie_secure


@pytest.mark.parametrize(
    "env",
    [
        {"C11_PORT": "eighty"},
        {"C11_MIGRATE": "maybe"},
        {"C11_CONFIG_FILE": "/no/such/file.toml"},
        {"C11_OIDC_ISSUER": "https://x"},
        {"C11_MAIL_TRANSPORT": "pigeon"},
    ],
)
def test_bad_settings_raise_config_error(env):
    with pytest.raises(ConfigError):
        load_config(env={"HOME": "/h", **env})


def test_unknown_toml_key(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_config(env={"C11_CONFIG_FILE": str(f)})


def test_every_setting_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "server.md").read_text()
    for s in SETTINGS:
        assert s.env in doc, s.env
