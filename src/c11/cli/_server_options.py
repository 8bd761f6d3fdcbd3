"""`--data-dir` and `--config`: how operator commands (`c11 db`, `c11 notify`, `c11 org create`) find the
server's data folder and configuration, as `c11 serve` does (C11_DATA_DIR, C11_CONFIG_FILE otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

_OPTIONS = (
    click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data folder [C11_DATA_DIR]."),
    click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML configuration file [C11_CONFIG_FILE].",
    ),
)


def server_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: add the two options (parameters `data_dir`, `config_file`) to a command."""
    for opt in reversed(_OPTIONS):
        f = opt(f)
    return f
