"""An option taking one or more numbers after one flag (``--thresholds 0.1 0.2 0.3``), which click
cannot declare for an option of a chained command; commas work too (``--thresholds 0.1,0.2``)."""

from __future__ import annotations

from typing import Any

import click


def _is_number(token: str) -> bool:
    """A number, or comma-separated numbers."""
    try:
        [float(t) for t in token.split(",") if t]
    except ValueError:
        return False
    return bool(token.strip(","))


class ManyFloats(click.Option):
    """Consumes the numbers that follow the flag, stopping at the first token that is not one."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            process = option.process

            def eat(value: Any, state: Any, process: Any = process) -> None:
                values = [value]
                while state.rargs and _is_number(state.rargs[0]):
                    values.append(state.rargs.pop(0))
                process(tuple(values), state)

            option.process = eat


def parse_floats(ctx: click.Context, param: click.Parameter, value: Any) -> tuple[float, ...]:
    """Callback: the consumed tokens (or comma-separated ones) as floats; a usage error otherwise."""
    if not value:
        return ()
    tokens = [t for item in (value if isinstance(value, tuple) else (value,)) for t in str(item).split(",") if t]
    try:
        return tuple(float(t) for t in tokens)
    except ValueError:
        raise click.BadParameter(f"{' '.join(tokens)!r} are not numbers", ctx, param) from None
