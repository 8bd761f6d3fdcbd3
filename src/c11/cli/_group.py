"""The `c11` Click group: subcommands imported on first use, built from c11.cli.main's `COMMANDS`.

Kept apart from the entry point so that `c11 --help` (c11.cli._fast) imports no Click.
"""

from __future__ import annotations

import importlib

import click

from c11 import __version__
from c11.errors import TruncatedError


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def __init__(self, *args: object, lazy_commands: dict[str, tuple[str, str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._lazy)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self._lazy:
            return None
        module, attr, _ = self._lazy[name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        """Run the subcommand; an EOFError (a reader or a prompt meeting the end of its input) is an error,
        not the "aborted" click would make of it."""
        try:
            return super().invoke(ctx)
        except EOFError:
            raise TruncatedError(
                "unexpected end of input: the file is truncated, or stdin was closed while c11 was reading it"
            ) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self._lazy[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def make_group(commands: dict[str, tuple[str, str, str]], help_text: str) -> click.Group:
    """The `c11` group over `commands` (name -> module, attribute, one-line help)."""

    @click.group(
        cls=LazyGroup, lazy_commands=commands, help=help_text, context_settings={"help_option_names": ["-h", "--help"]}
    )
    @click.version_option(__version__, prog_name="c11")
    def cli() -> None:
        pass

    return cli
