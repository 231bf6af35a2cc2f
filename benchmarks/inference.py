"""Inference benchmarks; prints JSON lines.

(a) `Inferencer` on a 64x512x512 chunk with a small 3D conv net vs the bare model forward over
    exactly the same patches (target <= 1.10x).
(b) chunkflow 1.2.0's identity workload, whole process, wall time and peak RSS; side by side with
    the original when CHUNKFLOW_1_2 names its `chunkflow` executable (target >= 3x faster, <= 0.5 GB).
(c) peak RSS vs the bytes of input + output chunk, for several chunk sizes.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import BIN, emit, median_process, paired_ratio, run_process  # noqa: E402


def small_net():  # type: ignore[no-untyped-def]
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv3d(1, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv3d(8, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv3d(8, 3, 3, padding=1),
        torch.nn.Sigmoid(),
    ).eval()


def bench_overhead() -> None:
    import tempfile

    import torch

    from chunkflow import Chunk
    from chunkflow.inference import Inferencer, TorchEngine

    net = small_net()
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/net.ts"
        torch.jit.script(net).save(path)
        engine = TorchEngine(path, device="cpu")
    chunk = Chunk(np.random.default_rng(0).random((64, 512, 512), dtype=np.float32))
    patch, overlap, batch = (16, 128, 128), (4, 32, 32), 2
    inferencer = Inferencer(
        engine,
        patch,
        output_patch_overlap=overlap,
        num_output_channels=3,
        batch_size=batch,
        output_crop_margin=(0, 0, 0),
        progress=False,
    )
    grid = inferencer.grid(chunk.spatial_shape)
    starts = list(grid)
    batches = [
        torch.from_numpy(
            np.stack(
                [chunk.array[None, s.z : s.z + 16, s.y : s.y + 128, s.x : s.x + 128] for s in starts[i : i + batch]]
            )
        )
        for i in range(0, len(starts), batch)
    ]

    def bare() -> None:
        with torch.inference_mode():
            for b in batches:
                engine.model(b)

    result = paired_ratio(lambda: inferencer(chunk), bare, repeat=3)
    emit(
        benchmark="inference_overhead",
        chunk=[64, 512, 512],
        patch=list(patch),
        overlap=list(overlap),
        patches=len(starts),
        batch_size=batch,
        target_ratio_max=1.10,
        **result,
    )


def bench_chunkflow_workload() -> None:
    args = ["create-chunk", "--size", "68", "832", "832", "--dtype", "float32",
            "inference", "--input-patch-size", "20", "256", "256", "--patch-num", "4", "4", "4", "--framework", "identity"]  # fmt: skip
    ours = median_process([str(BIN / "chunkflow"), *args], repeat=5)
    record = {"benchmark": "chunkflow_1_2_identity_workload", "ours_wall_s": ours["wall_s"], "ours_peak_mib": ours["peak_mib"],
              "input_plus_output_mib": (68 * 832 * 832 * 4 + 3 * 60 * 704 * 704 * 4) / 2**20,
              "reference_1_2_wall_s": 7.1, "reference_1_2_peak_mib": 2.1 * 1024}  # fmt: skip
    original = os.environ.get("CHUNKFLOW_1_2")
    if original:
        theirs = median_process([original, *args], repeat=3)
        record.update(original_wall_s=theirs["wall_s"], original_peak_mib=theirs["peak_mib"])
    base_wall = record.get("original_wall_s", 7.1)
    record["speedup"] = base_wall / ours["wall_s"]
    emit(**record)


def bench_memory() -> None:
    code = (
        "import resource, sys, numpy as np\n"
        "from chunkflow.synthetic import create_chunk\n"
        "from chunkflow.inference import Inferencer, IdentityEngine\n"
        "z, y, x, c = map(int, sys.argv[1:])\n"
        "chunk = create_chunk((z, y, x), 'float32', 'random')\n"
        "out = Inferencer(IdentityEngine(c), (16, 128, 128), num_output_channels=c, output_crop_margin=(0, 0, 0), progress=False)(chunk)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    import subprocess

    base = float(
        subprocess.run(
            [sys.executable, "-c", code, "16", "128", "128", "1"], capture_output=True, text=True, check=True
        ).stdout
    )
    for shape, channels in [((64, 512, 512), 3), ((128, 512, 512), 3), ((128, 1024, 1024), 3)]:
        peak = float(
            subprocess.run(
                [sys.executable, "-c", code, *map(str, shape), str(channels)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        data = np.prod(shape) * 4 * (1 + channels) / 2**20
        emit(
            benchmark="inference_peak_rss",
            chunk=list(shape),
            output_channels=channels,
            input_plus_output_mib=data,
            peak_mib=peak,
            interpreter_baseline_mib=base,
            ratio=peak / data,
            ratio_above_baseline=(peak - base) / data,
            target_ratio_max=2.5,
        )


def bench_memmap() -> None:
    """Memory-mapped output buffer vs in-memory: wall time (paired) and anonymous RSS after the run."""
    import subprocess
    import tempfile

    code = (
        "import sys, tempfile, time\n"
        "from chunkflow.synthetic import create_chunk\n"
        "from chunkflow.inference import Inferencer, IdentityEngine\n"
        "chunk = create_chunk((64, 512, 512), 'float32', 'random')\n"
        "d = sys.argv[1] if len(sys.argv) > 1 else None\n"
        "t = time.perf_counter()\n"
        "out = Inferencer(IdentityEngine(3), (16, 128, 128), num_output_channels=3, output_buffer_dir=d, progress=False)(chunk)\n"
        "wall = time.perf_counter() - t\n"
        "anon = [l for l in open('/proc/self/status') if l.startswith('RssAnon')][0].split()[1]\n"
        "print(wall, int(anon) / 1024)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"memory": [], "memmap": []}
        for _ in range(3):
            for mode, extra in (("memory", []), ("memmap", [tmp])):
                out = subprocess.run([sys.executable, "-c", code, *extra], capture_output=True, text=True, check=True)
                runs[mode].append(tuple(map(float, out.stdout.split())))
    med = {m: sorted(r)[1] for m, r in runs.items()}
    emit(
        benchmark="inference_memmap_output",
        chunk=[64, 512, 512],
        output_mib=64 * 512 * 512 * 3 * 4 / 2**20,
        wall_s={m: v[0] for m, v in med.items()},
        anon_rss_mib={m: v[1] for m, v in med.items()},
        memmap_over_memory_time=med["memmap"][0] / med["memory"][0],
    )


if __name__ == "__main__":
    _ = run_process  # re-exported for other benchmarks
    bench_memmap()
    bench_chunkflow_workload()
    bench_memory()
    bench_overhead()
