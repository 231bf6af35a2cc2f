"""chunkflow 1.2.0's ``chunkflow.lib.utils``: parsing plugin arguments."""

from __future__ import annotations

from ast import literal_eval
from typing import Any

__all__ = ["simplest_type", "str_to_dict"]


def simplest_type(text: str) -> Any:
    """The Python literal ``text`` stands for, or ``text`` itself."""
    try:
        return literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def str_to_dict(text: str) -> dict[str, Any]:
    """``'a=3;b=(1,2)'`` becomes ``{'a': 3, 'b': (1, 2)}``."""
    parsed: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        key, _, value = item.partition("=")
        parsed[key.strip()] = simplest_type(value.strip())
    return parsed
