"""Inference with a real-sized model, on a GPU when one is present and on the CPU otherwise; JSON lines.

The model is defined here: a residual symmetric 3D U-Net of the usual size for affinities (widths
16-32-64-128, (1, 2, 2) pooling, ~1.7 M parameters, 3 sigmoid outputs), written to a chunkflow
model file (``InstantiatedModel`` + state dict) so ours and chunkflow 1.2.0 load the same thing.

Per precision and batch size, over exactly the same patches:
  ours        ``Inferencer`` end to end (device path: chunk, patches and blending on the device)
  host path   ``Inferencer`` with blending on the host (the path before the device path existed)
  bare        the model over the patches, host -> device -> host, no blending
  model alone inputs already on the device, outputs left there (GPU only)
plus ONNX Runtime on the same model (CPU), chunkflow 1.2.0 side by side where ``CHUNKFLOW_1_2_PYTHON``
names a Python that imports it, peak RSS against input + output, and device-vs-CPU agreement.

    .venv/bin/python benchmarks/inference_gpu.py                      # CPU: a smaller job (see --help)
    PYTHONPATH=src python benchmarks/inference_gpu.py --device cuda   # GPU: the issue's 84x1024x1024 job
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

MODEL_SOURCE = '''
import torch
from torch import nn


def conv(cin, cout, k):
    return nn.Conv3d(cin, cout, k, padding=tuple(s // 2 for s in k))


class Residual(nn.Module):
    """(1,3,3) conv, then a residual pair of 3x3x3 convs (the RSUNet block)."""

    def __init__(self, cin, cout, depth=2):
        super().__init__()
        self.pre = conv(cin, cout, (1, 3, 3))
        self.body = nn.ModuleList(conv(cout, cout, (3, 3, 3)) for _ in range(depth))

    def forward(self, x):
        x = torch.relu(self.pre(x))
        y = x
        for i, layer in enumerate(self.body):
            y = layer(y)
            if i < len(self.body) - 1:
                y = torch.relu(y)
        return torch.relu(x + y)


class RSUNet(nn.Module):
    def __init__(self, widths=(16, 32, 64, 128), out_channels=3):
        super().__init__()
        self.embed = conv(1, widths[0], (1, 5, 5))
        self.down = nn.ModuleList(Residual(a, b) for a, b in zip(widths[:1] + widths[:-1], widths))
        self.pool = nn.MaxPool3d((1, 2, 2))
        self.up = nn.ModuleList(nn.ConvTranspose3d(b, a, (1, 2, 2), stride=(1, 2, 2)) for a, b in zip(widths[:-1], widths[1:]))
        self.dec = nn.ModuleList(Residual(a, a) for a in widths[:-1])
        self.head = conv(widths[0], out_channels, (1, 5, 5))

    def forward(self, x):
        x = torch.relu(self.embed(x))
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, dec, skip in reversed(list(zip(self.up, self.dec, skips[:-1]))):
            x = dec(up(x) + skip)  # symmetric: skips are added, not concatenated
        return torch.sigmoid(self.head(x))


InstantiatedModel = RSUNet()
'''

ORIGINAL = r"""
import json, sys, time, numpy as np, torch
torch.cuda.get_device_name = lambda *a, **k: "cpu"  # 1.2.0 asks for a CUDA name even on the CPU
from chunkflow.chunk import Chunk
from chunkflow.flow.divid_conquer.inferencer import Inferencer
model, weights, patch, overlap, repeat = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
array = np.load(sys.argv[6])
inf = Inferencer(model, weights, patch, output_patch_overlap=overlap, output_crop_margin=overlap, num_output_channels=3,
                 framework="pytorch", batch_size=1, mask_output_chunk=False, input_size=array.shape)
times, cpu = [], []
for _ in range(repeat + 1):
    t, c = time.perf_counter(), time.process_time()
    out = inf(Chunk(array))
    times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
np.save(sys.argv[7], np.asarray(out.array, dtype=np.float32))
print(json.dumps({"times": times[1:], "cpu": cpu[1:], "threads": torch.get_num_threads()}))
"""


def make_model(tmp: str, torch):  # type: ignore[no-untyped-def]
    path, weights = f"{tmp}/rsunet.py", f"{tmp}/rsunet.pt"
    with open(path, "w") as f:
        f.write(MODEL_SOURCE)
    namespace: dict = {}
    torch.manual_seed(0)
    exec(MODEL_SOURCE, namespace)
    model = namespace["InstantiatedModel"]
    torch.save(model.state_dict(), weights)
    return path, weights, sum(p.numel() for p in model.parameters())


def median(values: list[float]) -> float:
    return float(np.median(values))


def measure(fns: dict, repeat: int, sync=lambda: None) -> dict[str, float]:  # type: ignore[no-untyped-def,type-arg]
    """Median wall and CPU seconds of each function, run alternately (drift on a shared machine cancels).

    CPU seconds (this process, all its threads) are the steadier figure on a loaded machine: they do
    not count the time other jobs hold the cores.
    """
    for fn in fns.values():
        fn()
    sync()
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            w, c = time.perf_counter(), time.process_time()
            fn()
            sync()
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)
    return {**{f"{k}_s": median(v) for k, v in wall.items()}, **{f"{k}_cpu_s": median(v) for k, v in cpu.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--chunk", type=int, nargs=3, help="default: 84 1024 1024 on a GPU, 12 96 96 on the CPU")
    parser.add_argument("--patch", type=int, nargs=3, help="default: 20 256 256 on a GPU, 8 64 64 on the CPU")
    parser.add_argument("--overlap", type=int, nargs=3, help="default: 4 64 64 on a GPU, 4 32 32 on the CPU")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", help="default: 1 4 on a GPU, 1 on the CPU")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's); passed to 1.2.0 too")
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # inherited by the 1.2.0 and peak-RSS subprocesses

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from chunkflow import Chunk
    from chunkflow.inference import Inferencer, make_engine

    cuda = args.device.startswith("cuda") or (args.device == "auto" and torch.cuda.is_available())
    device = (args.device if args.device != "auto" else "cuda") if cuda else "cpu"
    chunk_shape = tuple(args.chunk or ((84, 1024, 1024) if cuda else (12, 96, 96)))
    patch = tuple(args.patch or ((20, 256, 256) if cuda else (8, 64, 64)))
    overlap = tuple(args.overlap or ((4, 64, 64) if cuda else (4, 32, 32)))
    batch_sizes = args.batch_sizes or ([1, 4] if cuda else [1])
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    array = np.random.default_rng(0).random(chunk_shape, dtype=np.float32)
    chunk = Chunk(array)
    common = dict(device=device, chunk=list(chunk_shape), patch=list(patch), overlap=list(overlap),
                  threads=torch.get_num_threads(), machine_note="shared machine, noisy (other jobs running)")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        model_path, weight_path, params = make_model(tmp, torch)
        emit(benchmark="inference_gpu_model", parameters=params, **common)
        precisions = ["fp32", "fp16", "bf16"] if cuda else ["fp32"]
        reference = None
        for precision in precisions:
            for batch in batch_sizes:
                for channels_last in [False, True] if cuda else [False]:
                    engine = make_engine(
                        "pytorch", model_path, weight_path, 3, device, precision, channels_last=channels_last
                    )
                    kw = dict(output_patch_overlap=overlap, output_crop_margin=(0, 0, 0), num_output_channels=3,
                              batch_size=batch, progress=False)  # fmt: skip
                    ours = Inferencer(engine, patch, device_path=True, **kw)
                    host = Inferencer(engine, patch, device_path=False, **kw)
                    plan = ours.plan(chunk)
                    starts = [p.input_start for p in plan.placements]
                    batches = [
                        np.stack(
                            [
                                array[None, s.z : s.z + patch[0], s.y : s.y + patch[1], s.x : s.x + patch[2]]
                                for s in starts[i : i + batch]
                            ]
                        )
                        for i in range(0, len(starts), batch)
                    ]
                    on_device = [torch.from_numpy(b).to(engine.torch_device) for b in batches]

                    def bare(batches=batches, engine=engine) -> None:  # type: ignore[no-untyped-def]
                        for b in batches:
                            engine.predict(b)

                    def alone(on_device=on_device, engine=engine) -> None:  # type: ignore[no-untyped-def]
                        for b in on_device:
                            engine.forward(b)

                    fns = {
                        "ours": lambda ours=ours: ours(chunk),
                        "host_path": lambda host=host: host(chunk),
                        "bare": bare,
                    }
                    if cuda:
                        fns["model_alone"] = alone
                    result = measure(fns, args.repeat, sync)
                    out = ours(chunk).array
                    agreement = {}
                    if precision == "fp32" and batch == batch_sizes[0] and not channels_last:
                        reference = out
                        host_out = host(chunk).array
                        agreement["device_vs_host_path_max_abs"] = float(np.abs(out - host_out).max())
                    elif reference is not None:
                        agreement["vs_fp32_max_abs"] = float(np.abs(out - reference).max())
                    emit(
                        benchmark="inference_gpu",
                        precision=precision,
                        batch_size=batch,
                        channels_last=channels_last,
                        patches=len(starts),
                        ours_over_bare=result["ours_s"] / result["bare_s"],
                        ours_over_bare_cpu=result["ours_cpu_s"] / result["bare_cpu_s"],
                        **({"ours_over_model_alone": result["ours_s"] / result["model_alone_s"]} if cuda else {}),
                        **result,
                        **agreement,
                        **common,
                    )
        if cuda:  # device vs CPU agreement on a crop (the CPU is slow)
            crop = Chunk(array[: patch[0] + 4, : patch[1] * 2, : patch[2] * 2].copy())
            kw = dict(output_patch_overlap=overlap, output_crop_margin=(0, 0, 0), num_output_channels=3, progress=False)
            cpu = Inferencer(make_engine("pytorch", model_path, weight_path, 3, "cpu"), patch, **kw)(crop).array
            for precision in precisions:
                gpu = Inferencer(make_engine("pytorch", model_path, weight_path, 3, device, precision), patch, **kw)(
                    crop
                ).array
                emit(
                    benchmark="inference_gpu_vs_cpu",
                    precision=precision,
                    max_abs=float(np.abs(gpu - cpu).max()),
                    **common,
                )
        else:
            bench_onnx(torch, model_path, weight_path, chunk, patch, overlap, args.repeat, common)
            bench_original(model_path, weight_path, array, patch, overlap, args.repeat, common, tmp)
        bench_peak_rss(device, common, tmp)


def bench_onnx(torch, model_path, weight_path, chunk, patch, overlap, repeat, common) -> None:  # type: ignore[no-untyped-def]
    import warnings

    from chunkflow.inference import Inferencer, make_engine

    engine = make_engine("pytorch", model_path, weight_path, 3, "cpu")
    onnx_path = model_path.replace(".py", ".onnx")
    example = torch.zeros(1, 1, *patch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            engine.model,
            (example,),
            onnx_path,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "n"}, "output": {0: "n"}},
            dynamo=False,
        )
    kw = dict(output_patch_overlap=overlap, output_crop_margin=(0, 0, 0), num_output_channels=3, progress=False)
    ours = Inferencer(engine, patch, **kw)
    onnx = Inferencer(make_engine("onnx", onnx_path, device="cpu"), patch, **kw)
    r = measure({"torch": lambda: ours(chunk), "onnxruntime": lambda: onnx(chunk)}, repeat)
    diff = float(np.abs(ours(chunk).array - onnx(chunk).array).max())
    emit(
        benchmark="inference_onnxruntime_cpu",
        **r,
        onnx_over_torch=r["onnxruntime_s"] / r["torch_s"],
        onnx_over_torch_cpu=r["onnxruntime_cpu_s"] / r["torch_cpu_s"],
        max_abs_diff=diff,
        **common,
    )


def bench_original(model_path, weight_path, array, patch, overlap, repeat, common, tmp) -> None:  # type: ignore[no-untyped-def]
    """chunkflow 1.2.0 (its own Python, ``CHUNKFLOW_1_2_PYTHON``) against ours at batch 1, alternating runs."""
    python = os.environ.get("CHUNKFLOW_1_2_PYTHON")
    if not python:
        emit(
            benchmark="inference_vs_chunkflow_1_2", skipped="set CHUNKFLOW_1_2_PYTHON to a Python with chunkflow 1.2.0"
        )
        return
    from chunkflow import Chunk
    from chunkflow.inference import Inferencer, make_engine

    np.save(f"{tmp}/in.npy", array)
    # 1.2.0 without --mask-output-chunk insists on cropping at least the overlap: both crop exactly that
    ours = Inferencer(
        make_engine("pytorch", model_path, weight_path, 3, "cpu"),
        patch,
        output_patch_overlap=overlap,
        output_crop_margin=overlap,
        num_output_channels=3,
        progress=False,
    )
    from chunkflow.inference.engines import torch_to_onnx

    via_onnx = Inferencer(
        torch_to_onnx(ours.engine, patch, 1, tmp),
        patch,
        output_patch_overlap=overlap,  # type: ignore[arg-type]
        output_crop_margin=overlap,
        num_output_channels=3,
        progress=False,
    )
    chunk = Chunk(array)
    t_ours, t_theirs, c_ours, c_theirs, t_onnx, c_onnx = [], [], [], [], [], []
    ours(chunk)
    via_onnx(chunk)
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        ours(chunk)
        t_ours.append(time.perf_counter() - w)
        c_ours.append(time.process_time() - c)
        w, c = time.perf_counter(), time.process_time()
        via_onnx(chunk)
        t_onnx.append(time.perf_counter() - w)
        c_onnx.append(time.process_time() - c)
        out = subprocess.run(
            [
                python,
                "-c",
                ORIGINAL,
                model_path,
                weight_path,
                json.dumps(list(patch)),
                json.dumps(list(overlap)),
                "1",
                f"{tmp}/in.npy",
                f"{tmp}/theirs.npy",
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        if out.returncode != 0:
            emit(benchmark="inference_vs_chunkflow_1_2", error=out.stderr[-400:])
            return
        theirs = json.loads(out.stdout.strip().splitlines()[-1])
        t_theirs += theirs["times"]
        c_theirs += theirs["cpu"]
    diff = np.abs(np.load(f"{tmp}/theirs.npy") - ours(chunk).array)
    emit(
        benchmark="inference_vs_chunkflow_1_2",
        batch_size=1,
        ours_s=median(t_ours),
        chunkflow_1_2_s=median(t_theirs),
        speedup=median(t_theirs) / median(t_ours),
        ours_cpu_s=median(c_ours),
        chunkflow_1_2_cpu_s=median(c_theirs),
        speedup_cpu=median(c_theirs) / median(c_ours),
        ours_via_onnx_s=median(t_onnx),
        ours_via_onnx_cpu_s=median(c_onnx),
        speedup_via_onnx_cpu=median(c_theirs) / median(c_onnx),
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        target_speedup_min=1.2,
        **common,
    )


PEAK = r"""
import sys, json, numpy as np, torch
def hwm():  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
from chunkflow import Chunk
from chunkflow.inference import Inferencer, make_engine
model, device, device_path = sys.argv[1], sys.argv[2], sys.argv[3] == "device"
engine = make_engine("pytorch", model, None, 3, device)
kw = dict(output_patch_overlap=(4, 32, 32), output_crop_margin=(0, 0, 0), num_output_channels=3, progress=False,
          device_path=device_path)
Inferencer(engine, (16, 128, 128), **kw)(Chunk(np.zeros((16, 128, 128), np.float32)))  # libraries and one patch
base = hwm()
chunk = Chunk(np.random.default_rng(0).random((64, 512, 512), dtype=np.float32))
out = Inferencer(engine, (16, 128, 128), **kw)(chunk)
peak = hwm()
print(json.dumps({"baseline_mib": base, "peak_mib": peak, "data_mib": (chunk.array.nbytes + out.array.nbytes) / 2**20}))
"""

POINTWISE = """
import torch
def load_model(weight_path):
    return torch.nn.Conv3d(1, 3, 1)
"""


def bench_peak_rss(device, common, tmp) -> None:  # type: ignore[no-untyped-def]
    """Peak RSS of a 64x512x512 float32 chunk (3-channel output) above the process after one patch: the
    buffers inference adds. A pointwise model, so the model's own activations do not hide them."""
    path = f"{tmp}/pointwise.py"
    with open(path, "w") as f:
        f.write(POINTWISE)
    for blend_on in ("device", "host"):
        out = subprocess.run(
            [sys.executable, "-c", PEAK, path, device, blend_on], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout)
        emit(
            benchmark="inference_gpu_peak_rss",
            blend_on=blend_on,
            chunk=[64, 512, 512],
            **r,
            ratio_above_baseline=(r["peak_mib"] - r["baseline_mib"]) / r["data_mib"],
            target_ratio_max=1.3,
            **{k: v for k, v in common.items() if k != "chunk"},
        )


if __name__ == "__main__":
    main()
