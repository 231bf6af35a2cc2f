"""Multi-resolution meshes (neuroglancer_multilod_draco), sharded and unsharded, made task by task and
read back with cloud-volume: the finest level covers the whole-volume zmesh surface within one voxel."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cloudvolume import CloudVolume

from chunkflow import BoundingBox, Chunk
from chunkflow.cli import main
from chunkflow.datasets import pinky40_labels
from chunkflow.errors import InvalidParameterError
from chunkflow.postprocess._meshing import mesh_task
from chunkflow.postprocess.multires import mesh_task_fragments, write_multires
from chunkflow.volumes import save_chunk

from ._meshdist import vertex_to_surface


@pytest.fixture(scope="module")
def seg() -> Chunk:
    labels = pinky40_labels()
    box = BoundingBox.from_string("192-224_128-256_128-256")
    return labels.cutout(box).with_array(np.ascontiguousarray(labels.cutout(box).array))


def _forge(seg: Chunk, url: str, sharded: bool) -> list[BoundingBox]:
    save_chunk(url, seg)
    tasks = seg.bbox.split((16, 64, 64))
    for task in tasks:
        mesh_task_fragments(seg.cutout(task.grow(1).intersection(seg.bbox)), url, task, seg.bbox, sharded=sharded)
    return tasks


def _get(cv: CloudVolume, obj: int, lod: int):  # type: ignore[no-untyped-def]
    mesh = cv.mesh.get(obj, lod=lod)
    return mesh[obj] if isinstance(mesh, dict) else mesh


@pytest.mark.parametrize("sharded", [pytest.param(False, marks=pytest.mark.slow), True])
def test_multires_meshes_read_back_and_cover_the_whole_surface(tmp_path, seg, sharded):
    url = f"file://{tmp_path / 'seg'}"
    tasks = _forge(seg, url, sharded)
    mesh_dir = tmp_path / "seg" / "mesh"
    # one fragment file per task, and its list of ids
    assert len(list((mesh_dir / "fragments").glob("*.frags"))) == len(tasks) == 8
    assert len(list((mesh_dir / "fragments").glob("*.ids"))) == 8
    ids, counts = np.unique(seg.array, return_counts=True)
    order = ids[np.argsort(-counts)]
    biggest, second = int(order[0]), int(order[1])
    written = write_multires(url, min_chunk_size=8, num_lods=3)
    assert written == len(set(ids) - {0})
    info = json.loads((mesh_dir / "info").read_text())
    assert info["@type"] == "neuroglancer_multilod_draco"
    if sharded:
        assert info["sharding"]["@type"] == "neuroglancer_uint64_sharded_v1"
        assert [p.name for p in mesh_dir.iterdir() if p.suffix == ".shard"] == ["0.shard"]
        assert not (mesh_dir / f"{biggest}.index").exists()
    else:
        assert (mesh_dir / f"{biggest}.index").exists() and (mesh_dir / str(biggest)).exists()
    cv = CloudVolume(url, progress=False)
    whole = {f.obj: f for f in mesh_task(seg, simplification_factor=0)}
    fine, raw = _get(cv, biggest, 0), whole[biggest]
    # the finest level and the whole-volume zmesh mesh are the same surface within one voxel (40 nm)
    assert vertex_to_surface(fine.vertices, raw.vertices, raw.faces).max() <= 40
    assert vertex_to_surface(raw.vertices[::29], fine.vertices, fine.faces, k=1000).max() <= 40
    assert len(_get(cv, second, 0).faces) > 100
    coarse = [_get(cv, biggest, lod) for lod in range(3)]
    assert 0 < len(coarse[2].faces) < len(coarse[1].faces) < len(coarse[0].faces)  # coarser levels of detail
    manifest = cv.mesh.get_manifest(biggest) if not sharded else None
    if manifest is not None:
        assert manifest.num_lods == 3 and manifest.num_fragments_per_lod[0] > 1


@pytest.mark.subprocess
def test_multires_cli_and_bad_input(tmp_path, seg, capsys):
    url = f"file://{tmp_path / 'seg'}"
    save_chunk(url, seg, block_size=(16, 64, 64))
    args = ["generate-tasks", "-v", url, "-c", "16", "64", "64",
            "load-precomputed", "-v", url, "-e", "1", "1", "1", "--fill-missing", "-o", "seg",
            "mesh", "-i", "seg", "-o", url, "--multires", "--shard"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    assert main(["mesh-manifest", "-v", url, "--min-chunk-size", "16", "--workers", "2"]) == 0, capsys.readouterr().err
    assert "multi-resolution meshes" in capsys.readouterr().out
    cv = CloudVolume(url, progress=False)
    ids, counts = np.unique(seg.array, return_counts=True)
    assert len(_get(cv, int(ids[np.argmax(counts)]), 0).faces) > 100
    # legacy meshes into a multi-resolution mesh directory: refused with one line
    code = main(["load-precomputed", "-v", url, "-o", "seg", "mesh", "-i", "seg", "-o", url])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "multi" in err
    with pytest.raises(InvalidParameterError, match="--shard"):
        mesh_task_fragments(seg, url, sharded=False)
