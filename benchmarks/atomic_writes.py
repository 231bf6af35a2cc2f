"""What atomic local writes cost: a precomputed chunk written with cloud-files' in-place writes
vs chunkflow's write-aside-and-rename (same volume, same data, alternated pairs); prints JSON lines."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import numpy as np  # noqa: E402
from _common import emit  # noqa: E402


def main() -> None:
    from cloudfiles.interfaces import FileInterface

    from chunkflow import Chunk
    from chunkflow.volumes import create_volume, open_volume, precomputed

    in_place = FileInterface.put_file
    precomputed._atomic_local_writes()
    atomic = FileInterface.put_file
    chunk = Chunk(
        np.random.default_rng(0).integers(0, 255, (64, 256, 256), dtype=np.uint8), (0, 0, 0), (40, 4, 4), "image"
    )
    ratios, times = [], {"in_place": [], "atomic": []}
    with tempfile.TemporaryDirectory() as tmp:
        create_volume(f"file://{tmp}/v", like=chunk, block_size=(16, 64, 64))  # 64 block files per write
        volume = open_volume(f"file://{tmp}/v")
        for _ in range(11):
            pair = {}
            for name, put in (("in_place", in_place), ("atomic", atomic)):
                FileInterface.put_file = put
                start = time.perf_counter()
                volume.write(chunk)
                pair[name] = time.perf_counter() - start
                times[name].append(pair[name])
            ratios.append(pair["atomic"] / pair["in_place"])
        FileInterface.put_file = atomic
    emit(
        benchmark="atomic_writes",
        what="precomputed 64x256x256 uint8, 64 blocks of 16x64x64, gzip",
        in_place_s=round(statistics.median(times["in_place"]), 3),
        atomic_s=round(statistics.median(times["atomic"]), 3),
        atomic_over_in_place=round(statistics.median(ratios), 3),
    )


if __name__ == "__main__":
    main()
