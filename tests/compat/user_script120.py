"""A typical chunkflow 1.2.0 user script: 24 calls of 1.2.0's Python API, written as 1.2.0's users write them.

It runs unchanged on chunkflow 1.2.0 and on ours. :func:`run` makes each call and turns its result into
plain JSON (arrays by dtype, shape and a hash or, for floats, rounded values), so a run on 1.2.0 can be
recorded once (``record120.py`` -> ``data/ref120_user_script.json``) and compared with ours in CI
(``test_user_script120.py``). Run directly, it writes the results as JSON::

    python tests/compat/user_script120.py WORK_DIR SYNAPSE_PLUGIN_DIR OUT.json

The synapse plugins are 1.2.0's repository files (``upstream120/plugins/synapse``), called the way a script
calls a plugin's ``execute``. Their box is a cube, so 1.2.0's ``BoundingBox.contains``, which compares a
point's z with the box's x (see README, differences), gives the same answer as ours.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """A JSON-able picture of a result: arrays by dtype/shape/contents, chunks by their place too."""
    if hasattr(value, "voxel_offset") and hasattr(value, "array"):
        return {
            "voxel_offset": [int(v) for v in value.voxel_offset],
            "voxel_size": None if value.voxel_size is None else [int(v) for v in value.voxel_size],
            "array": plain(np.asarray(value.array)),
        }
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.floating):
            return {
                "dtype": str(value.dtype),
                "shape": list(value.shape),
                "values": np.round(value, 5).ravel().tolist(),
            }
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return {"dtype": str(value.dtype), "shape": list(value.shape), "sha256": digest}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6)
    return value


def _plugin(folder: Path, name: str) -> Callable[..., Any]:
    spec = importlib.util.spec_from_file_location(f"user_plugin_{name}", folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.execute


def run(work: Path, plugins: Path) -> dict[str, Any]:
    """Make the 24 calls; a call that raises records its error type and message instead of a result."""
    from chunkflow.chunk import Chunk
    from chunkflow.chunk.affinity_map import AffinityMap
    from chunkflow.chunk.image import Image
    from chunkflow.chunk.segmentation import Segmentation
    from chunkflow.lib.cartesian_coordinate import BoundingBox, Cartesian
    from chunkflow.volume import PrecomputedVolume

    state: dict[str, Any] = {}
    rng = np.random.default_rng(24)
    labels = np.repeat(np.arange(1, 5, dtype=np.uint32), 8).reshape(1, 1, 32).repeat(8, 0).repeat(16, 1)

    def chunk_create():
        state["chunk"] = Chunk.create(size=(8, 16, 32), dtype=np.uint8, voxel_offset=(2, 4, 6), voxel_size=(40, 4, 4))
        return state["chunk"]

    def image_from_array():
        state["image"] = Image(
            rng.integers(0, 255, (4, 32, 32), dtype=np.uint8), voxel_offset=(0, 0, 0), voxel_size=(40, 4, 4)
        )
        return state["image"]

    def segmentation_from_array():
        state["seg"] = Segmentation(labels.copy(), voxel_offset=(2, 4, 6), voxel_size=(40, 4, 4))
        return state["seg"]

    def affinity_map_quantize():
        affs = AffinityMap(rng.random((3, 4, 8, 8), dtype=np.float32), voxel_offset=(0, 0, 0), voxel_size=(40, 4, 4))
        return affs.quantize()

    def segmentation_evaluate():
        merged = labels.copy()
        merged[merged == 2] = 1
        return state["seg"].evaluate(Segmentation(merged), size_threshold=10)

    def segmentation_mask_fragments():
        seg = Segmentation(labels.copy(), voxel_offset=(2, 4, 6), voxel_size=(40, 4, 4))
        seg.array[0, 0, :8] = 9  # an 8-voxel fragment
        seg.mask_fragments(10)
        return seg

    calls: dict[str, Callable[[], Any]] = {
        "Chunk.create": chunk_create,
        "chunk.bbox": lambda: state["chunk"].bbox.string,
        "chunk.physical_bounding_box": lambda: [
            list(state["chunk"].physical_bounding_box.start),
            list(state["chunk"].physical_bounding_box.stop),
            list(state["chunk"].physical_bounding_box.voxel_size),
        ],
        "chunk.voxel_offset.vec": lambda: state["chunk"].voxel_offset.vec.tolist(),
        "chunk.cutout(bbox)": lambda: state["chunk"].cutout(BoundingBox.from_string("3-6_5-12_10-20")),
        "chunk arithmetic": lambda: (state["chunk"].astype(np.float32) / 255.0) * 2 - 1,
        "Image(...)": image_from_array,
        "Segmentation(...)": segmentation_from_array,
        "AffinityMap.quantize": affinity_map_quantize,
        "Segmentation.evaluate": segmentation_evaluate,
        "Segmentation.mask_fragments": segmentation_mask_fragments,
        "BoundingBox.from_string": lambda: BoundingBox.from_string("0-8_0-16_0-32").string,
        "BoundingBox.from_delta": lambda: BoundingBox.from_delta(Cartesian(1, 2, 3), Cartesian(4, 8, 8)).string,
        "Cartesian arithmetic": lambda: list((Cartesian(4, 8, 16) * 2 + 1) // 3),
        "bbox.adjust": lambda: BoundingBox.from_string("4-12_8-24_8-40").adjust(2).string,
        "bbox.clone": lambda: BoundingBox.from_string("0-8_0-16_0-32").clone().string,
        "bbox.decompose": lambda: [b.string for b in BoundingBox.from_string("0-8_0-16_0-36").decompose((4, 8, 16))],
        "bbox.union/intersection": lambda: [
            BoundingBox.from_string("0-8_0-16_0-32").union(BoundingBox.from_string("4-12_8-24_16-40")).string,
            BoundingBox.from_string("0-8_0-16_0-32").intersection(BoundingBox.from_string("4-12_8-24_16-40")).string,
        ],
        "bbox.shape": lambda: list(BoundingBox.from_string("2-8_4-16_6-32").shape),
        "PrecomputedVolume.from_numpy": lambda: _volume(state, work, PrecomputedVolume),
        "vol.cutout": lambda: state["vol"].cutout(BoundingBox.from_string("1-3_2-10_4-20")),
        "vol.save + cutout": lambda: _save_and_cutout(state, BoundingBox),
        "detect_pre_synapses": lambda: _detect(state, plugins, Chunk, BoundingBox),
        "adjust_pre": lambda: _adjust(state, plugins, Chunk),
    }
    results: dict[str, Any] = {}
    for name, call in calls.items():
        try:
            results[name] = plain(call())
        except Exception as error:  # a failing call is a result: the test names it
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    return results


def _volume(state: dict[str, Any], work: Path, volume_class: Any) -> Any:
    array = np.arange(4 * 16 * 32, dtype=np.uint8).reshape(4, 16, 32)
    state["vol"] = volume_class.from_numpy(array, f"file://{work}/vol")
    vol = state["vol"]
    box = vol.bounding_box
    return [list(box.start), list(box.stop), list(vol.voxel_size), list(vol.block_size), str(np.dtype(vol.dtype))]


def _save_and_cutout(state: dict[str, Any], box_class: Any) -> Any:
    chunk = state["vol"].cutout(box_class.from_string("0-4_0-16_0-32"))  # the whole volume: aligned
    chunk.array[1:3, 2:9, 4:20] = 7
    state["vol"].save(chunk)
    return state["vol"].cutout(box_class.from_string("0-4_0-16_0-32"))


def _detect(state: dict[str, Any], plugins: Path, chunk_class: Any, box_class: Any) -> Any:
    prob = np.zeros((64, 64, 64), np.float32)  # peaks further than min_distance=15 from the border
    for point in [(20, 24, 30), (44, 40, 20), (30, 20, 45)]:
        prob[point] = 1.0
    from scipy.ndimage import gaussian_filter

    prob = gaussian_filter(prob, 2.0)
    chunk = chunk_class(prob / prob.max(), voxel_offset=(0, 0, 0), voxel_size=(8, 8, 8))
    syns = _plugin(plugins, "detect_pre_synapses")(chunk, box_class.from_string("0-64_0-64_0-64"))
    state["syns"] = syns
    return {"type": type(syns).__name__, "pre": syns.pre.tolist(), "confidence": syns.pre_confidence}


def _adjust(state: dict[str, Any], plugins: Path, chunk_class: Any) -> Any:
    img = np.full((64, 64, 64), 200, np.uint8)
    img[21:24, 25:28, 31:34] = 10  # a dark spot next to the first point
    moved = _plugin(plugins, "adjust_pre")(state["syns"], chunk_class(img, voxel_offset=(0, 0, 0)), radius=4)
    return {"type": type(moved).__name__, "pre": moved.pre.tolist()}


if __name__ == "__main__":
    Path(sys.argv[3]).write_text(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2]))))
