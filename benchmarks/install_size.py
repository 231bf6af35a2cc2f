"""Install size of the core vs the ``all`` extra, on disk; prints JSON lines.

- ``python benchmarks/install_size.py`` (in an environment with ``chunkflow[all]``): walks the
  requirement closure of ``chunkflow`` (core) and of ``chunkflow[all]`` through the installed
  distributions' metadata and sums the bytes of the files each one installed (its RECORD).
  Target: core <= 25% of all.
- ``--measure-venv VENV``: ``du`` of a real venv's site-packages (CI runs it on the fresh core venv
  that .ci/wheel-test installs from the wheel).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402


def _name(requirement: str) -> str:
    return re.split(r"[\s;\[<>=!~(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _extras(requirement: str) -> set[str]:
    match = re.search(r"\[([^\]]+)\]", requirement.split(";")[0])
    return {e.strip() for e in match.group(1).split(",")} if match else set()


def _applies(requirement: str, extras: set[str]) -> bool:
    if ";" not in requirement:
        return True
    from packaging.markers import Marker

    marker = Marker(requirement.split(";", 1)[1])
    return any(marker.evaluate({"extra": e}) for e in (extras or {""}))


def project_requirements(extras: set[str]) -> list[str]:
    """chunkflow's own requirements for ``extras``, read from pyproject.toml (the installed metadata of an
    editable install may be older); ``all`` expands to the role extras it names."""
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    optional = project["optional-dependencies"]
    todo = set(extras)
    while todo:
        extra = todo.pop()
        for req in optional[extra]:
            if _name(req) == "chunkflow":
                todo |= _extras(req)
            else:
                requirements.append(req)
    return requirements


def closure(root: str, extras: set[str]) -> dict[str, int]:
    """{distribution: bytes installed} for ``chunkflow[extras]`` and everything it requires."""
    sizes: dict[str, int] = {}
    todo = [(_name(r), frozenset(_extras(r))) for r in project_requirements(extras) if _applies(r, set())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        if name not in sizes:
            sizes[name] = sum(f.size or 0 for f in dist.files or [] if f.size)
        for req in dist.requires or []:
            if _applies(req, set(wanted)):
                todo.append((_name(req), frozenset(_extras(req))))
    return sizes


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure-venv", type=Path, default=None, help="du a venv's site-packages instead")
    args = parser.parse_args()
    if args.measure_venv is not None:
        site = next(args.measure_venv.glob("lib/python*/site-packages"))
        emit(benchmark="install_size_venv", venv=str(args.measure_venv), site_packages_mib=du(site) / 2**20)
        return
    core = closure("chunkflow", set())
    everything = closure("chunkflow", {"all"})
    extras = {}
    for extra in ("inference", "segmentation", "mesh", "viewer", "dask", "tensorstore", "plugins"):
        only = closure("chunkflow", {extra})
        extras[extra] = sum(v for k, v in only.items() if k not in core) / 2**20
    biggest = sorted(((v, k) for k, v in everything.items() if k not in core), reverse=True)[:5]
    emit(
        benchmark="install_size",
        core_mib=sum(core.values()) / 2**20,
        all_mib=sum(everything.values()) / 2**20,
        core_fraction=sum(core.values()) / sum(everything.values()),
        target_fraction_max=0.25,
        core_distributions=len(core),
        all_distributions=len(everything),
        extra_adds_mib=extras,
        largest_in_all_not_core={k: round(v / 2**20, 1) for v, k in biggest},
    )


if __name__ == "__main__":
    main()
