"""1.2.0 plugins whose result is not a chunk in a chain (point clouds, skeleton files) or whose input is a
file, called the way a script calls a plugin's ``execute``, in either environment::

    python tests/compat/plugin_calls120.py PLUGIN_DIR WORK_DIR OUT.json

``PLUGIN_DIR`` holds 1.2.0's plugin files (recording, ``record120.py``) or ours (``src/chunkflow/plugins``,
``test_plugins120.py``); the results are plain JSON to compare."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

# skeletonize is not recorded: kimimaro installed beside 1.2.0 (numpy<2) fails inside osteoid
# (uint32 + int64 cast), so 1.2.0's skeletonize does not run there; ours is tested against kimimaro
NAMES = ("detect_points", "load_mrc")


def _execute(folder: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"plugin120_{name}", folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.execute


def run(folder: Path, work: Path, names: tuple[str, ...] = NAMES) -> dict[str, Any]:
    from scipy.ndimage import gaussian_filter

    from chunkflow.chunk import Chunk
    from chunkflow.lib.cartesian_coordinate import BoundingBox

    results: dict[str, Any] = {}
    if "detect_points" in names:
        prob = np.zeros((16, 48, 48), np.float32)
        prob[[4, 10, 11], [12, 30, 20], [14, 33, 40]] = [1.0, 0.8, 0.5]
        prob = gaussian_filter(prob, 1.5)
        points = _execute(folder, "detect_points")(Chunk(prob, voxel_offset=(100, 0, 0), voxel_size=(40, 4, 4)), 3, 0.3)
        results["detect_points"] = {"points": np.asarray(points.points).tolist(), "voxel_size": list(points.voxel_size)}
    if "load_mrc" in names:
        import mrcfile

        data = (np.arange(6 * 20 * 30) % 251).astype(np.int8).reshape(6, 20, 30)
        with mrcfile.new(work / "img.mrc", overwrite=True) as mrc:
            mrc.set_data(data)
            mrc.voxel_size = (40.0, 40.0, 400.0)  # x y z in angstrom
        chunk = _execute(folder, "load_mrc")(BoundingBox.from_string("2-6_10-20_5-25"), str(work / "img.mrc"))
        results["load_mrc"] = {
            "array": np.asarray(chunk.array).astype(int).ravel().tolist(),
            "dtype": str(chunk.array.dtype),
            "voxel_offset": [int(v) for v in chunk.voxel_offset],
            "voxel_size": [int(v) for v in chunk.voxel_size],
        }
    if "skeletonize" in names:
        labels = np.zeros((8, 48, 48), np.uint32)
        labels[1:7, 10:16, 4:44] = 5  # over kimimaro's default dust threshold (1000 voxels)
        labels[1:7, 20:40, 20:30] = 9
        out = work / "skeletons"
        skels = _execute(folder, "skeletonize")(Chunk(labels, voxel_offset=(0, 0, 0)), (40, 4, 4), f"file://{out}")
        results["skeletonize"] = {
            "ids": sorted(int(i) for i in skels),
            "files": sorted(p.name for p in out.iterdir()),
            "vertices": {str(i): len(s.vertices) for i, s in sorted(skels.items())},
        }
    return results


if __name__ == "__main__":
    Path(sys.argv[3]).write_text(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2]))))
