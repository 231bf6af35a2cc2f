"""Named plug-in registries: built-in entries plus third-party ones from an entry-point group.

One pattern for every kind of plug-in (volume formats: :mod:`chunkflow.volumes.registry`, task
queues: :mod:`chunkflow.queues.registry`): an entry maps a name to ``"module:attr"`` (or to the
object itself), imported only when it is used. Another package adds entries by declaring them in its
``pyproject.toml``::

    [project.entry-points."chunkflow.volumes"]
    npzdir = "my_package.npzdir:FORMAT"

or at run time with :meth:`Registry.register`. Installed entry points are found by a cheap scan of
the ``entry_points.txt`` files on ``sys.path`` first, so a process with no plug-in installed never
pays for :mod:`importlib.metadata`.
"""

from __future__ import annotations

import glob
import importlib
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from chunkflow.errors import InvalidParameterError

__all__ = ["Registry", "may_have_entry_points", "entry_point_targets", "load_target"]

T = TypeVar("T")


def may_have_entry_points(group: str) -> bool:
    """Whether some installed distribution may declare entry points of ``group``: a cheap text scan of
    ``*.dist-info/entry_points.txt`` and ``*.egg-info/entry_points.txt`` (false positives are fine)."""
    for directory in sys.path:
        if not os.path.isdir(directory):
            continue
        pattern = os.path.join(glob.escape(directory), "*.%s-info", "entry_points.txt")
        for path in glob.glob(pattern % "dist") + glob.glob(pattern % "egg"):
            try:
                with open(path, encoding="utf-8") as f:
                    if group in f.read():
                        return True
            except OSError:
                continue
    return False


def entry_point_targets(group: str) -> dict[str, str]:
    """Name -> ``"module:attr"`` of the installed entry points of ``group`` (nothing imported)."""
    if not may_have_entry_points(group):
        return {}
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=group)}


def load_target(target: str, what: str) -> Any:
    """Import ``"module:attr"`` (``attr`` may be dotted); errors name ``what`` and the target."""
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidParameterError(
            f"{what} is registered as {target!r}, which cannot be imported ({exc}); "
            "install the package that provides it, or fix its entry point"
        ) from None
    return obj


class Registry(Generic[T]):
    """Names of one kind of plug-in -> the object (loaded on first use).

    Parameters
    ----------
    kind : str
        What an entry is, for messages (``"volume format"``).
    group : str
        The entry-point group read for third-party entries (``"chunkflow.volumes"``).
    builtins : mapping of str to str or T, or a function returning one
        Built-in entries, name -> ``"module:attr"`` or the object; they win over an entry point of the
        same name. A function is called once, on first use (the operator registry reads its entries from
        the operator modules' sources, which ``import chunkflow.cli`` need not pay for).
    check : callable, optional
        Called with each loaded object; raises (or returns a replacement) where it is not of the kind.
    """

    def __init__(
        self,
        kind: str,
        group: str,
        builtins: Mapping[str, str | T] | Callable[[], Mapping[str, str | T]],
        check: Callable[[str, Any], T] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._targets: dict[str, str | T] = {} if callable(builtins) else dict(builtins)
        self._loaded: dict[str, T] = {}
        self._check = check
        self._scanned = False

    def _scan(self) -> None:
        if not self._scanned:
            self._scanned = True
            if callable(self._builtins):
                self._targets = {**self._builtins(), **self._targets}
            for name, target in entry_point_targets(self.group).items():
                self._targets.setdefault(name, target)

    def register(self, name: str, target: str | T, *, replace: bool = False) -> None:
        """Add ``name`` -> ``target`` (``"module:attr"`` or the object), as an entry point would.

        An existing name is refused unless ``replace``.
        """
        self._scan()
        if name in self._targets and not replace:
            raise InvalidParameterError(
                f"{self.kind} {name!r} is already registered ({self._targets[name]!r}); pick another name"
            )
        self._targets[name] = target
        self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a no-op where it is not registered)."""
        self._scan()
        self._targets.pop(name, None)
        self._loaded.pop(name, None)

    def names(self) -> list[str]:
        """Every registered name: built-ins first, then entry points and run-time registrations."""
        self._scan()
        return list(self._targets)

    def __contains__(self, name: object) -> bool:
        self._scan()
        return name in self._targets

    def load(self, name: str) -> T:
        """The object registered as ``name``, imported on first use."""
        if name in self._loaded:
            return self._loaded[name]
        self._scan()
        if name not in self._targets:
            raise InvalidParameterError(
                f"{self.kind} {name!r} is not registered; known: {', '.join(self._targets)} "
                f"(others come from the {self.group!r} entry-point group)"
            )
        target = self._targets[name]
        obj: Any = load_target(target, f"{self.kind} {name!r}") if isinstance(target, str) else target
        loaded: T = self._check(name, obj) if self._check is not None else obj
        self._loaded[name] = loaded
        return loaded
