"""Click groups whose subcommands are imported only when they run, so `crm --help` (and any one command) pays for its
own dependencies only: importing every command at start-up meant importing litestar, sqlalchemy, polars, duckdb and
aiogram before printing a help page."""

from __future__ import annotations

from importlib import import_module

import click


class LazyGroup(click.Group):
    """A group of `name -> ("module:attribute", "one-line help")`. The help line is what `--help` lists, so listing
    commands imports nothing; `tests/test_cli_startup.py` holds each line equal to its command's own."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in self.lazy if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def load(self, cmd_name: str) -> click.Command:
        module, _, attribute = self.lazy[cmd_name][0].partition(":")
        command = getattr(import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}:{attribute} is not a click command")
        return command

    def help_line(self, cmd_name: str, limit: int) -> str:
        if cmd_name in self.commands:
            return self.commands[cmd_name].get_short_help_str(limit)
        return click.Command(cmd_name, help=self.lazy[cmd_name][1]).get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but a lazy command's help line comes from the table instead of the imported command."""
        names = [n for n in self.list_commands(ctx) if n in self.lazy or not self.commands[n].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        with formatter.section("Commands"):
            formatter.write_dl([(n, self.help_line(n, limit)) for n in names])
