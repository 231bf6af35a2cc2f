"""Click options and parameter types shared by operators.

Option names follow chunkflow 1.2.0 so existing command lines keep working. Parameter types
fail through ``self.fail`` so a bad value is a usage error naming it, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from chunkflow.errors import InvalidBoundingBoxError
from chunkflow.geometry import BoundingBox

DEFAULT_CHUNK_NAME = "chunk"

F = Callable[..., Any]


class BoundingBoxType(click.ParamType):
    name = "z0-z1_y0-y1_x0-x1"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> BoundingBox:
        if isinstance(value, BoundingBox):
            return value
        try:
            return BoundingBox.from_string(str(value))
        except InvalidBoundingBoxError as exc:
            self.fail(str(exc), param, ctx)


class FiniteFloat(click.ParamType):
    """A float that is not NaN or infinite (``-t nan`` would silently give an empty result)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a valid float", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


FINITE_FLOAT = FiniteFloat()


class PositiveTriple(click.ParamType):
    """Used through :func:`triple`: one of the three integers of a size."""

    name = "integer"

    def __init__(self, positive: bool) -> None:
        self.positive = positive

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not an integer", param, ctx)
        if self.positive and number <= 0:
            self.fail(f"{number} must be positive", param, ctx)
        if not self.positive and number < 0:
            self.fail(f"{number} must not be negative", param, ctx)
        return number


def triple(
    *decls: str, help: str, default: Any = None, positive: bool = True, signed: bool = False, **kwargs: Any
) -> Callable[[F], F]:
    """An option taking three integers Z Y X."""
    kind: click.ParamType = click.INT if signed else PositiveTriple(positive)
    return click.option(*decls, type=kind, nargs=3, default=default, help=help + " (Z Y X)", **kwargs)


def input_option(default: str = DEFAULT_CHUNK_NAME) -> Callable[[F], F]:
    return click.option(
        "--input-chunk-name",
        "--input-name",
        "-i",
        "input_name",
        default=default,
        show_default=True,
        help="Name of the chunk to read.",
    )


def output_option(default: str = DEFAULT_CHUNK_NAME) -> Callable[[F], F]:
    return click.option(
        "--output-chunk-name",
        "--output-name",
        "-o",
        "output_name",
        default=default,
        show_default=True,
        help="Name of the chunk to write.",
    )


def name_option(default: str) -> Callable[[F], F]:
    """chunkflow 1.2.0 let every operator be renamed (for its timing log); accepted for compatibility."""
    return click.option("--name", "op_name", default=default, hidden=True)


class GreedyOption(click.Option):
    """An option that takes the tokens after its flag while :meth:`accepts` holds (at most ``max_values``),
    which click cannot declare for an option of a chained command (``--thresholds 0.1 0.2 0.3``,
    ``--margin-size 1 2 3 4 5 6``); the callback or ``type_cast_value`` gets them as a tuple."""

    max_values: int | None = None

    @staticmethod
    def accepts(token: str) -> bool:
        raise NotImplementedError

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            previous = option.process

            def process(value: Any, state: Any, previous: Any = previous) -> None:
                values = [value]
                while (
                    state.rargs
                    and (self.max_values is None or len(values) < self.max_values)
                    and self.accepts(state.rargs[0])
                ):
                    values.append(state.rargs.pop(0))
                previous(tuple(values), state)

            option.process = process
