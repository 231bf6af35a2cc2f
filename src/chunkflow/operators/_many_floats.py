"""An option taking one or more numbers after one flag (``--thresholds 0.1 0.2 0.3``), which click
cannot declare for an option of a chained command; commas work too (``--thresholds 0.1,0.2``)."""

from __future__ import annotations

from typing import Any

import click

from chunkflow.operators._options import GreedyOption


def _is_number(token: str) -> bool:
    """A number, or comma-separated numbers."""
    try:
        [float(t) for t in token.split(",") if t]
    except ValueError:
        return False
    return bool(token.strip(","))


class ManyFloats(GreedyOption):
    """Consumes the numbers that follow the flag, stopping at the first token that is not one."""

    accepts = staticmethod(_is_number)


def parse_floats(ctx: click.Context, param: click.Parameter, value: Any) -> tuple[float, ...]:
    """Callback: the consumed tokens (or comma-separated ones) as floats; a usage error otherwise."""
    if value is None:
        return ()
    tokens = [
        t for item in (value if isinstance(value, tuple) else (value,)) for t in str(item).split(",") if t.strip()
    ]
    if not tokens:  # --thresholds '' would otherwise run the one default threshold as if no sweep was asked
        raise click.BadParameter(
            f"{' '.join(map(str, value if isinstance(value, tuple) else (value,)))!r} holds no "
            "numbers; give one or more",
            ctx,
            param,
        )
    try:
        return tuple(float(t) for t in tokens)
    except ValueError:
        raise click.BadParameter(f"{' '.join(tokens)!r} are not numbers", ctx, param) from None
