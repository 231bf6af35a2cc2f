"""Volume I/O benchmarks; prints JSON lines.

- chunk-sized (64x256x256 uint8, block-aligned) reads and writes of Zarr v3 through zarr-python and
  through tensorstore, on the same array (same codec), to pick the backend;
- our ZarrVolume (tensorstore underneath) and PrecomputedVolume against the bare tensorstore /
  cloud-volume calls on the same volume (ratio ours/bare, paired runs; target <= 1.1x).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, paired_ratio  # noqa: E402

from chunkflow import BoundingBox, Chunk  # noqa: E402
from chunkflow.volumes import create_volume, open_volume  # noqa: E402

VOLUME = (128, 512, 512)
CHUNK = BoundingBox.from_string("64-128_256-512_0-256")  # block-aligned
BLOCK = (64, 64, 64)


def _data(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = rng.integers(90, 160, size=(CHUNK.shape[0], CHUNK.shape[1] // 8, CHUNK.shape[2] // 8), dtype=np.uint8)
    return np.ascontiguousarray(
        np.repeat(np.repeat(smooth, 8, axis=1), 8, axis=2) + rng.integers(0, 8, CHUNK.shape, dtype=np.uint8)
    )


def bench_zarr(root: str) -> None:
    import tensorstore as ts
    import zarr

    path = os.path.join(root, "img.zarr")
    volume = create_volume(f"zarr://{path}", volume_size=VOLUME, dtype="uint8", block_size=BLOCK, layer_type="image")
    data = _data()
    chunk = Chunk(data, CHUNK.start, (40, 4, 4), "image")
    bare = zarr.open_array(path, mode="r+")
    store = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}, open=True).result()
    sl = CHUNK.slices()

    def zp_write() -> None:
        bare[sl] = data

    def ts_write() -> None:
        store[sl].write(data).result()

    def zp_read() -> None:
        np.asarray(bare[sl])

    def ts_read() -> None:
        store[sl].read().result()

    zp_write()
    assert np.array_equal(store[sl].read().result(), data)  # both libraries see the same array
    w = paired_ratio(ts_write, zp_write, repeat=7)
    r = paired_ratio(ts_read, zp_read, repeat=7)
    mib = data.nbytes / 2**20
    emit(
        bench="zarr_library_choice",
        chunk=list(CHUNK.shape),
        block=list(BLOCK),
        write_mib_s={"tensorstore": mib / w["ours_s"], "zarr_python": mib / w["bare_s"]},
        read_mib_s={"tensorstore": mib / r["ours_s"], "zarr_python": mib / r["bare_s"]},
        tensorstore_over_zarr_python_time={"write": w["ratio"], "read": r["ratio"]},
    )
    # ours (tensorstore underneath, chosen by the figures above) vs the bare tensorstore call
    wo = paired_ratio(lambda: volume.write(chunk), ts_write, repeat=7)
    ro = paired_ratio(lambda: volume.read(CHUNK), ts_read, repeat=7)
    emit(bench="zarr_ours_vs_bare_tensorstore", write=wo, read=ro)


def bench_precomputed(root: str) -> None:
    from cloudvolume import CloudVolume

    url = f"file://{os.path.join(root, 'img')}"
    create_volume(url, volume_size=VOLUME, dtype="uint8", block_size=BLOCK, layer_type="image", voxel_size=(40, 4, 4))
    volume = open_volume(url)
    data = _data()
    chunk = Chunk(data, CHUNK.start, (40, 4, 4), "image")
    cv = CloudVolume(url, progress=False)
    z, y, x = CHUNK.slices()
    xyz = data.T[..., np.newaxis]

    def bare_write() -> None:
        cv[x, y, z] = xyz

    def bare_read() -> None:
        np.asarray(cv[x, y, z])

    wo = paired_ratio(lambda: volume.write(chunk), bare_write, repeat=5)
    ro = paired_ratio(lambda: volume.read(CHUNK), bare_read, repeat=5)
    assert np.array_equal(volume.read(CHUNK).array, data)
    emit(
        bench="precomputed_ours_vs_cloudvolume",
        chunk=list(CHUNK.shape),
        write=wo,
        read=ro,
        write_mib_s=data.nbytes / 2**20 / wo["ours_s"],
        read_mib_s=data.nbytes / 2**20 / ro["ours_s"],
    )


def main() -> None:
    root = tempfile.mkdtemp(prefix="chunkflow-bench-")
    try:
        bench_zarr(root)
        bench_precomputed(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
