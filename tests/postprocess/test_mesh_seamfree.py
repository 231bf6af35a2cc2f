"""Seam-free meshes across tasks (issue 18.5): fragments meshed with a one-voxel overlap and open
faces, welded and simplified per object, match the whole-volume mesh and leave no walls at borders."""

from __future__ import annotations

import numpy as np
import pytest
from cloudvolume import CloudVolume

from chunkflow import BoundingBox, Chunk
from chunkflow.cli import main
from chunkflow.datasets import pinky40_labels
from chunkflow.errors import IncompatibleChunkError
from chunkflow.postprocess import mesh_chunk, write_manifests
from chunkflow.postprocess._meshing import mesh_task, weld
from chunkflow.volumes import save_chunk

from ._meshdist import vertex_to_surface


@pytest.fixture(scope="module")
def seg() -> Chunk:
    """32x128x128 of real neurons at a block-aligned global offset."""
    labels = pinky40_labels()
    box = BoundingBox.from_string("192-224_128-256_128-256")
    return labels.cutout(box).with_array(np.ascontiguousarray(labels.cutout(box).array))


def _triangles(vertices: np.ndarray, faces: np.ndarray) -> set:
    keys = np.round(vertices.astype(np.float64) * 1000).astype(np.int64)[faces]
    return {tuple(sorted(map(tuple, t))) for t in keys}


def _mesh_tasks(seg: Chunk, url: str, task_size, **kw) -> list[BoundingBox]:
    tasks = seg.bbox.split(task_size)
    for task in tasks:  # what `load-precomputed -e 1 1 1 ... mesh` hands each task
        chunk = seg.cutout(task.grow(1).intersection(seg.bbox))
        mesh_chunk(chunk, url, task_bbox=task, volume_bbox=seg.bbox, **kw)
    return tasks


def test_unsimplified_fragments_weld_into_exactly_the_whole_mesh(seg):
    whole = {f.obj: f for f in mesh_task(seg, simplification_factor=0)}
    parts: dict[int, list] = {}
    for task in seg.bbox.split((16, 64, 48)):  # 2 x 2 x 3 ragged tasks
        chunk = seg.cutout(task.grow(1).intersection(seg.bbox))
        for frag in mesh_task(chunk, task_bbox=task, volume_bbox=seg.bbox, simplification_factor=0):
            parts.setdefault(frag.obj, []).append(frag)
    assert set(parts) == set(whole) and max(len(p) for p in parts.values()) >= 8
    largest = sorted(parts, key=lambda o: -len(whole[o].faces))[:3]
    for obj, frags in ((o, parts[o]) for o in largest):
        offsets = np.cumsum([0] + [len(f.vertices) for f in frags[:-1]])
        vertices, faces = weld(
            np.concatenate([f.vertices for f in frags]),
            np.concatenate([f.faces.astype(np.int64) + o for f, o in zip(frags, offsets)]),
        )
        assert _triangles(vertices, faces) == _triangles(whole[obj].vertices, whole[obj].faces), obj


def test_seam_free_mesh_matches_whole_and_borders_carry_no_extra_vertices(tmp_path, seg):
    url = f"file://{tmp_path / 'seg'}"
    save_chunk(url, seg)
    tasks = _mesh_tasks(seg, url, (32, 64, 64), max_simplification_error=40)  # 4 tasks: borders y=192, x=192
    assert len(tasks) == 4
    ids, counts = np.unique(seg.array, return_counts=True)
    biggest = int(ids[np.argmax(counts)])
    assert write_manifests(url, ids=[biggest], max_simplification_error=40) == 1
    got = CloudVolume(url, progress=False).mesh.get(biggest)
    got = got[biggest] if isinstance(got, dict) else got
    raw = {f.obj: f for f in mesh_task(seg, simplification_factor=0)}[biggest]
    # the same surface both ways, within one voxel (40 nm, the largest voxel side)
    assert vertex_to_surface(got.vertices, raw.vertices, raw.faces).max() <= 40
    assert (
        vertex_to_surface(raw.vertices[::29], got.vertices, got.faces, k=1000).max() <= 40
    )  # big triangles: many candidates
    assert len(got.vertices) < len(raw.vertices) / 5  # simplified once, as a whole
    # vertices per plane of voxel centres along y and x: the task border (global 192) has no wall
    for axis, voxel in ((1, 4.0), (0, 4.0)):
        planes = np.round(got.vertices[:, axis] / voxel - 0.5).astype(int)
        on_plane = np.isclose(got.vertices[:, axis] / voxel - 0.5, planes)
        counts_per_plane = np.bincount(planes[on_plane] - 128, minlength=128)
        border = counts_per_plane[[191 - 128, 192 - 128]].max()
        interior = np.delete(counts_per_plane, [191 - 128, 192 - 128])
        print(
            f"axis {'xyz'[axis]}: border planes {counts_per_plane[[63, 64]].tolist()}, "
            f"interior max {interior.max()}, median {np.median(interior[interior > 0])}"
        )
        assert border <= interior.max()


def test_tasks_without_the_overlap_are_refused(seg, tmp_path):
    task = BoundingBox.from_string("192-224_128-192_128-192")
    with pytest.raises(IncompatibleChunkError, match="expand-margin-size 1 1 1"):
        mesh_chunk(seg.cutout(task), str(tmp_path / "m"), task_bbox=task, volume_bbox=seg.bbox)
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


def test_images_are_not_meshed_unless_said_to_be_labels(tmp_path, seg, capsys):
    image = Chunk((seg.array % 251).astype(np.uint8), seg.voxel_offset, seg.voxel_size, "unknown")
    with pytest.raises(IncompatibleChunkError, match="not a segmentation.*--is-segmentation"):
        mesh_chunk(image, str(tmp_path / "m"))
    assert mesh_chunk(image[:, :16, :16] if False else image, str(tmp_path / "m"), "obj", is_segmentation=True)
    h5 = tmp_path / "img.h5"
    save_chunk(str(h5), image.with_array(image.array, layer_type="image"))
    code = main(["load-h5", "-f", str(h5), "mesh", "-o", f"file://{tmp_path / 'cli'}"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "--is-segmentation" in err
    assert not (tmp_path / "cli").exists()
