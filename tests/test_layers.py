"""Layers run one way: commands -> jobs -> library -> core (CONVENTIONS.md, "Layers").

Walks every module of the package with ``ast`` (imports inside functions included) and fails on an
import of a layer above the importing module's own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "chunkflow"

COMMANDS, JOBS, COMPAT, LIBRARY, CORE = 3, 2, 1.5, 1, 0
LAYER_NAMES = {COMMANDS: "commands", JOBS: "jobs", COMPAT: "compat", LIBRARY: "library", CORE: "core"}

# first component under chunkflow -> layer; anything not listed is library
TOP_LEVEL = {
    "cli": COMMANDS, "__main__": COMMANDS, "operators": COMMANDS, "commands": COMMANDS,
    "demo": COMMANDS, "jobs": JOBS,
    "geometry": CORE, "chunk": CORE, "task": CORE, "errors": CORE, "pipeline": CORE, "_quiet": CORE, "logs": CORE,
    "files": CORE, "redact": CORE,
}  # fmt: skip

# chunkflow 1.2.0's layer at the edge (CONVENTIONS.md, "Compatibility"): chunkflow.compat and the 1.2.0
# module paths that re-export it; the core and the library never import them
COMPAT_TOP_LEVEL = {"compat", "lib", "plugins", "flow", "volume", "point_cloud", "synapses"}
COMPAT_PATHS = {"chunkflow.chunk"} | {
    f"chunkflow.chunk.{name}" for name in ("image", "segmentation", "affinity_map", "probability_map", "validate")
}


def layer_of(module: str) -> float:
    parts = module.split(".")
    if parts[0] != "chunkflow" or len(parts) == 1:
        return CORE
    if module in COMPAT_PATHS or parts[1] in COMPAT_TOP_LEVEL:
        return COMPAT
    return TOP_LEVEL.get(parts[1], LIBRARY)


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # "from chunkflow import operators" imports a subpackage
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names if name == "chunkflow"]
    return [(line, name) for line, name in found if name == "chunkflow" or name.startswith("chunkflow.")]


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def test_layer_table_covers_the_layout():
    assert layer_of("chunkflow.operators.h5") == COMMANDS
    assert layer_of("chunkflow.jobs.stages") == JOBS
    assert layer_of("chunkflow.segmentation.agglomerate") == LIBRARY
    assert layer_of("chunkflow.geometry") == CORE
    assert layer_of("chunkflow.chunk.base") == CORE
    assert layer_of("chunkflow.chunk") == COMPAT  # chunkflow.chunk.Chunk is 1.2.0's class
    assert layer_of("chunkflow.lib.cartesian_coordinate") == COMPAT
    assert len(MODULES) > 50


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_a_layer_above_it(path):
    own = layer_of(module_name(path))
    violations = [
        f"{path.relative_to(SRC.parent)}:{line} ({LAYER_NAMES[own]}) imports {name} ({LAYER_NAMES[layer_of(name)]})"
        for line, name in imported_modules(path)
        if layer_of(name) > own and name != "chunkflow"
    ]
    assert not violations, "\n".join(violations)


@pytest.mark.subprocess
def test_core_and_library_do_not_load_the_120_compat_layer():
    """Importing the core and the library (and using a core chunk) loads nothing of chunkflow 1.2.0's
    layer, and the core types carry none of 1.2.0's names; ``chunkflow.chunk.Chunk`` (1.2.0's path)
    loads it on demand and subclasses the core chunk."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "import chunkflow, chunkflow.chunk, chunkflow.chunk.base, chunkflow.geometry, chunkflow.task\n"
        "import chunkflow.volumes, chunkflow.inference, chunkflow.segmentation, chunkflow.postprocess\n"
        "c = chunkflow.Chunk(np.zeros((2, 3, 4), np.uint8), (1, 2, 3))\n"
        "c.cutout(c.bbox); c.crop_margin((0, 1, 1)); 255 - c\n"
        "base = chunkflow.chunk.base.Chunk\n"
        "assert chunkflow.Chunk is base and not hasattr(base, 'clone') and not hasattr(base, 'create')\n"
        "box = chunkflow.BoundingBox.from_string('0-1_0-2_0-3')\n"
        "assert not any(hasattr(box, name) for name in ('minpt', 'maxpt', 'string')) and box.slices() == box.slices(None)\n"
        "assert not hasattr(chunkflow.Vec3(1, 2, 3), 'tuple')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[:2] in (['chunkflow', 'compat'], ['chunkflow', 'lib'], ['chunkflow', 'plugins']))\n"
        "assert not loaded, loaded\n"
        "from chunkflow.chunk import Chunk\n"
        "assert issubclass(Chunk, base) and Chunk is not base and 'chunkflow.compat.chunk' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
