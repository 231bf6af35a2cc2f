"""The chained ``chunkflow`` command: a click group over the one registry of commands.

Every command, built-in or from the ``chunkflow.operators`` entry-point group, is an entry of
:data:`chunkflow.operators.registry.OPERATORS`, with its help section and the extra it needs.
Nothing heavy (torch, cloud-volume, tensorstore) is imported until an operator runs.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from chunkflow.errors import ChunkflowError

__all__ = ["main", "cli", "parse_chain"]


class OperatorGroup(click.Group):
    """The one ``chunkflow`` group: chained operators plus standalone commands, imported on first use.

    A chain is any sequence of operators. A standalone command (``view``, ``queue``, ``worker``,
    segmentation jobs) must be the only command of its invocation; it runs in a child context of
    this group, so group options (``-l/--log-level``) and ``-h`` apply to it.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        from chunkflow.operators.registry import OPERATORS

        return sorted(OPERATORS.names())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from chunkflow.operators.registry import OPERATORS

        if name == "view" and ctx.meta.get(_IN_CHAIN):  # chunkflow 1.2.0's in-chain viewer: create-chunk ... view
            from chunkflow.commands.view import view_in_chain

            return view_in_chain
        return OPERATORS.load(name).load() if name in OPERATORS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Commands by section, with their one-line help, without importing any built-in command's module."""
        from chunkflow.operators.registry import OPERATORS, OTHER, SECTION_TITLES, section_title, summary

        sections: dict[str, list[tuple[str, str]]] = {title: [] for title in SECTION_TITLES.values()}
        for name in self.list_commands(ctx):
            try:
                operator = OPERATORS.load(name)
            except ChunkflowError:  # a plug-in that cannot load is still listed
                sections.setdefault(OTHER, []).append((name, ""))
                continue
            sections.setdefault(section_title(operator), []).append((name, summary(name, operator)))
        # chained operators first (built-in sections, then plug-ins' own), standalone commands last
        chained = list(SECTION_TITLES.values())[:3]
        order = [
            *chained,
            *(t for t in sections if t not in SECTION_TITLES.values()),
            *list(SECTION_TITLES.values())[3:],
        ]
        for title in order:
            if sections.get(title):
                with formatter.section(title):
                    formatter.write_dl(sections[title])

    def invoke(self, ctx: click.Context) -> Any:
        args = [*ctx._protected_args, *ctx.args]
        if args and _is_standalone(args[0]):
            # a standalone command runs alone, as a child of this group (group options already applied)
            ctx.invoke(self.callback, **ctx.params) if self.callback is not None else None
            _require_extra(args[0], args[1:])  # PKG (issue 17): a missing extra fails here, before any work
            command = self.get_command(ctx, args[0])
            if command is None:
                ctx.fail(f"No such command {args[0]!r}.")
            with command.make_context(args[0], args[1:], parent=ctx) as sub_ctx:
                return command.invoke(sub_ctx)
        ctx.meta[_IN_CHAIN] = True
        return super().invoke(ctx)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None:
            _require_extra(name, rest)  # PKG (issue 17): a missing extra fails while the chain is parsed
        return name, command, rest


_IN_CHAIN = "chunkflow.in_chain"  # ctx.meta key: this invocation is a chain, not one standalone command


def _is_standalone(name: str) -> bool:
    from chunkflow.operators.registry import OPERATORS

    return name in OPERATORS and OPERATORS.load(name).standalone


def _require_extra(name: str, args: list[str]) -> None:
    """PKG (issue 17): one line naming the missing extra and the pip command (``--help`` still works)."""
    from chunkflow import _extras
    from chunkflow.operators.registry import OPERATORS

    if name in OPERATORS and not _extras.wants_help(args):
        _extras.require_extra(name, OPERATORS.load(name).extra)


def parse_chain(args: list[str]) -> tuple[click.Context, list[tuple[str, list[str], click.Context]]]:
    """Parse a chain's command line (``-l debug fetch-task -q Q create-chunk save-h5 -f out/``) as
    ``chunkflow ARGS`` would, without running anything: the group's context, and per operator
    ``(name, the arguments it consumed, its click context)``.

    Every option is checked, and each operator's extra: an unknown operator, a bad option or a
    standalone command inside the chain raises :class:`click.UsageError` (a missing extra
    :class:`~chunkflow.errors.ChunkflowError`) here, once (``worker -p N`` and ``run`` call it first).
    """
    ctx = cli.make_context("chunkflow", list(args), resilient_parsing=False)
    rest = [*ctx._protected_args, *ctx.args]
    ctx.args, ctx._protected_args = [], []
    pieces = []
    while rest:
        name, command, after_name = cli.resolve_command(ctx, rest)
        assert name is not None and command is not None  # resolve_command fails on an unknown name
        if _is_standalone(name):
            raise click.UsageError(f"{name!r} is a standalone command, not an operator of a chain", ctx=ctx)
        sub_ctx = command.make_context(
            name, list(after_name), parent=ctx, allow_extra_args=True, allow_interspersed_args=False
        )
        consumed = rest[: len(rest) - len(sub_ctx.args)]
        rest, sub_ctx.args = sub_ctx.args, []
        pieces.append((name, consumed, sub_ctx))
    return ctx, pieces


class ChainUsageError(click.UsageError):
    """A chain whose operators cannot run in the order given: one line on stderr, exit 2 (no usage block:
    every option parsed, the order is what is wrong)."""

    def show(self, file: Any = None) -> None:
        click.echo(f"chunkflow: error: {self.format_message()}", err=True)


@click.group(cls=OperatorGroup, chain=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    "-l",
    type=click.Choice(["debug", "info", "warning", "error", "critical"], case_sensitive=False),
    default="info",
    show_default=True,
    help="Logging verbosity.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or one JSON object per line (for log collectors).",
)
@click.version_option(package_name="chunkflow")
def cli(log_level: str, log_format: str) -> None:
    """Compose operators on chunks of 3D volumes into one command line.

    \b
    Example:
      chunkflow create-chunk --size 64 128 128 save-h5 -f /tmp/chunk.h5
    """
    from chunkflow.logs import configure_logging

    configure_logging(log_level, log_format)


@cli.result_callback()
def _run(stages: list[Any], log_level: str, log_format: str) -> None:
    from chunkflow.pipeline import check_stages, run_pipeline

    try:
        check_stages(stages)  # a chain that cannot run as written is a usage error, found before any task runs
    except ChunkflowError as exc:
        raise ChainUsageError(str(exc)) from None
    for _ in run_pipeline(list(stages)):
        pass


def main(argv: list[str] | None = None) -> int:
    """Console entry point: errors print one line on stderr and exit 1 (2 for usage errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # under standalone_mode=False click *returns* the code of a raised click.exceptions.Exit(n)
        result = cli.main(argv, prog_name="chunkflow", standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):
            return result
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("chunkflow: aborted", err=True)
        return 130
    except ChunkflowError as exc:
        from chunkflow.redact import redact

        click.echo(f"chunkflow: error: {redact(str(exc))}", err=True)  # no password or token of a URL in logs
        return 1
    except KeyboardInterrupt:
        click.echo("chunkflow: interrupted", err=True)
        return 130
    return 0
