"""The device-side inference path: cut patches, run the model and blend, all on the engine's device.

The input chunk goes to the device once, in its own dtype (uint8 is a quarter of float32's bytes),
from pinned memory; patches are sliced there, converted and normalised there, and blended into a
device-resident float32 buffer that comes back once per chunk. When input and output do not fit
``memory_limit`` bytes, both live in windows that slide along z: rows of the output that no later
patch touches are flushed to the host (on CUDA from a separate stream, while the next patches
compute) and the input window uploads only the rows it has not seen. Any chunk size then runs in
bounded device memory.

Every step is the same arithmetic in the same order as the host path (:mod:`.inferencer`), so on
``device="cpu"`` both give identical results; the tests check that, the cap included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chunkflow.errors import InvalidParameterError
from chunkflow.inference.plan import Placement, Plan

__all__ = ["DeviceRun", "windows_for"]


def _batches(plan: Plan, batch_size: int) -> list[tuple[Placement, ...]]:
    p = plan.placements
    return [p[i : i + batch_size] for i in range(0, len(p), batch_size)]


def windows_for(
    plan: Plan,
    batch_size: int,
    in_row_bytes: int,
    out_row_bytes: int,
    in_rows: int,
    out_rows: int,
    memory_limit: int | None,
) -> tuple[int, int]:
    """Heights (z rows) of the input and output windows that fit ``memory_limit`` bytes."""
    if memory_limit is None or in_rows * in_row_bytes + out_rows * out_row_bytes <= memory_limit:
        return in_rows, out_rows
    size = plan.grid.input_patch_size.z
    in_span = out_span = 1
    for batch in _batches(plan, batch_size):
        in_span = max(in_span, max(p.input_start.z for p in batch) + size - min(p.input_start.z for p in batch))
        out_span = max(out_span, max(p.target[0].stop for p in batch) - min(p.target[0].start for p in batch))
    need = in_span * in_row_bytes + out_span * out_row_bytes
    if need > memory_limit:
        raise InvalidParameterError(
            f"device memory limit {memory_limit / 2**20:.2f} MiB is below the {need / 2**20:.2f} MiB one batch "
            "needs (its input and output rows); raise the limit, lower --batch-size or use smaller chunks in y/x"
        )
    factor = memory_limit / need
    return min(in_rows, int(in_span * factor)), min(out_rows, int(out_span * factor))


class DeviceRun:
    """One chunk through ``engine.forward`` on ``engine.torch_device``; see the module docstring."""

    def __init__(
        self,
        engine: Any,
        array: np.ndarray,
        plan: Plan,
        batch_size: int,
        normalise_max: int | None,
        output: np.ndarray,
        check: Callable[[Any, slice], None],
        memory_limit: int | None = None,
    ) -> None:
        self.torch = torch = engine.torch
        self.engine, self.array, self.plan, self.output, self.check = engine, array, plan, output, check
        self.device = engine.torch_device
        self.cuda = self.device.type == "cuda"
        self.batch_size, self.normalise_max = batch_size, normalise_max
        channels, out_z = output.shape[0], output.shape[1]
        in_row = array.shape[0] * array.shape[2] * array.shape[3] * array.itemsize
        out_row = channels * output.shape[2] * output.shape[3] * 4
        self.in_height, self.out_height = windows_for(
            plan, batch_size, in_row, out_row, array.shape[1], out_z, memory_limit
        )
        self.copy_stream: Any = torch.cuda.Stream(self.device) if self.cuda else None
        self.in_lo = 0
        self.in_win = self._upload(0, self.in_height)
        self.out_lo = 0
        # on the CPU a whole-chunk float32 window is the host buffer itself: no second copy
        self.shared = not self.cuda and self.out_height == out_z and output.dtype == np.float32
        if self.shared:
            self.out_win = torch.from_numpy(output)
        else:
            self.out_win = torch.zeros(
                (channels, self.out_height, *output.shape[2:]), dtype=torch.float32, device=self.device
            )
        self.pending: list[tuple[Any, Any, slice]] = []  # (event, pinned host tensor, output rows)
        self.weights: dict[tuple[int, int], Any] = {}

    def run(self, on_batch: Callable[[int], None] = lambda n: None) -> None:
        torch = self.torch
        with torch.inference_mode():
            for batch in _batches(self.plan, self.batch_size):
                prediction = self._predict(batch)
                self._slide_output(min(p.target[0].start for p in batch), max(p.target[0].stop for p in batch))
                for placement, patch in zip(batch, prediction):
                    self._blend(placement, patch)
                on_batch(len(batch))
            self._flush(self.out_lo + min(self.out_height, self.output.shape[1] - self.out_lo))
            self._drain()

    # input -------------------------------------------------------------------------------------
    def _upload(self, lo: int, hi: int) -> Any:
        rows = np.ascontiguousarray(self.array[:, lo:hi])
        host = self.torch.from_numpy(rows)
        if not self.cuda:
            return host.to(self.device)
        host = host.pin_memory()
        with self.torch.cuda.stream(self.copy_stream):
            tensor = host.to(self.device, non_blocking=True)
        compute = self.torch.cuda.current_stream(self.device)
        compute.wait_stream(self.copy_stream)
        tensor.record_stream(compute)  # allocated on the copy stream, used on the compute stream
        return tensor

    def _input_rows(self, lo: int, hi: int) -> Any:
        """The input window holding rows ``[lo, hi)``, slid forward (keeping the rows it has) if needed."""
        if hi > self.in_lo + self.in_win.shape[1]:
            keep_from = lo - self.in_lo
            end = min(lo + self.in_height, self.array.shape[1])
            kept = self.in_win[:, keep_from:] if keep_from < self.in_win.shape[1] else self.in_win[:, :0]
            fresh = self._upload(self.in_lo + self.in_win.shape[1] if kept.shape[1] else lo, end)
            self.in_win = self.torch.cat([kept, fresh], dim=1)
            self.in_lo = lo
        return self.in_win

    def _predict(self, batch: tuple[Placement, ...]) -> Any:
        torch, size = self.torch, self.plan.grid.input_patch_size
        lo = min(p.input_start.z for p in batch)
        window = self._input_rows(lo, max(p.input_start.z for p in batch) + size.z)
        base = self.in_lo
        patches = [
            window[:, s.z - base : s.z - base + size.z, s.y : s.y + size.y, s.x : s.x + size.x]
            for s in (p.input_start for p in batch)
        ]
        net_input = torch.stack(patches).to(torch.float32)
        if self.normalise_max is not None:
            net_input /= self.normalise_max
        output = self.engine.forward(net_input)
        return self._crop_to_output_patch(output, len(batch))

    def _crop_to_output_patch(self, output: Any, n: int) -> Any:
        from chunkflow.inference.inferencer import check_prediction_shape

        margin = check_prediction_shape(tuple(output.shape), self.plan.grid, n, self.output.shape[0])
        if margin is None:
            return output
        z, y, x = output.shape[2:]
        return output[..., margin.z : z - margin.z, margin.y : y - margin.y, margin.x : x - margin.x]

    # output ------------------------------------------------------------------------------------
    def _blend(self, placement: Placement, patch: Any) -> None:
        tz, ty, tx = placement.target
        # the 3D weight is built on the device from the three 1D weights (uploaded once, not a
        # patch-sized array per patch), with the same float32 products as Placement.weight() on the host
        if placement.separable:
            wz, wy, wx = (self._weight_1d(w) for w in placement.weights)
            weight = wz[:, None, None] * (wy[None, :, None] * wx[None, None, :])
        elif placement.affine is not None and placement.norm is None:
            # 1.2.0's weight, from its 1D pieces on the device: Placement.weight()'s float64 operations in
            # the same order, so the same float32 weight
            alpha, beta, counts, sums = placement.affine
            wz, wy, wx = (self._weight_1d(w) for w in placement.weights)
            cz, cy, cx = (self._weight_1d(c) for c in counts)
            nz, ny, nx = (self._weight_1d(n) for n in sums)
            bump = alpha + beta * (wz[:, None, None] * (wy[None, :, None] * wx[None, None, :]))
            norm = alpha * (cz[:, None, None] * (cy[None, :, None] * cx[None, None, :])) + beta * (
                nz[:, None, None] * (ny[None, :, None] * nx[None, None, :])
            )
            weight = (bump / norm).to(self.torch.float32)
        else:  # --mask-output-chunk's weight holds the chunk's summed masks: uploaded per patch
            weight = self.torch.from_numpy(placement.weight()).to(self.device)
        view = self.out_win[:, tz.start - self.out_lo : tz.stop - self.out_lo, ty, tx]
        view.addcmul_(patch[(slice(None), *placement.local)].contiguous(), weight)

    def _weight_1d(self, w: np.ndarray) -> Any:
        """The 1D weight on the device, uploaded once per chunk: a copy from pageable memory per patch
        would synchronise the GPU with the host every time."""
        key = (w.__array_interface__["data"][0], w.shape[0])  # a view into the plan's weights, alive with it
        tensor = self.weights.get(key)
        if tensor is None:
            tensor = self.weights[key] = self.torch.from_numpy(w).to(self.device)
        return tensor

    def _slide_output(self, lo: int, hi: int) -> None:
        """Make rows ``[lo, hi)`` resident; rows before ``lo`` are finished (patches come in z order)."""
        if hi <= self.out_lo + self.out_height:
            return
        self._flush(lo)
        keep = self.out_win[:, lo - self.out_lo :].clone()
        self.out_win.zero_()
        self.out_win[:, : keep.shape[1]] = keep
        self.out_lo = lo

    def _flush(self, stop: int) -> None:
        """Send finished rows ``[out_lo, stop)`` to the host output."""
        if stop <= self.out_lo:
            return
        rows = slice(self.out_lo, stop)
        slab = self.out_win[:, : stop - self.out_lo]
        self.check(slab, rows)
        if self.shared:
            return
        if self.output.dtype == np.float16:
            slab = slab.half()
        if not self.cuda:
            self.output[:, rows] = slab.numpy()
            return
        torch = self.torch
        slab = slab.clone()  # the window is reused at once; this copy is the one in flight
        self.copy_stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.copy_stream):
            host = torch.empty(slab.shape, dtype=slab.dtype, pin_memory=True)
            host.copy_(slab, non_blocking=True)
            slab.record_stream(self.copy_stream)
            event = torch.cuda.Event()
            event.record(self.copy_stream)
        self._drain()  # at most one flush in flight: host memory stays bounded by one window
        self.pending.append((event, host, rows))

    def _drain(self) -> None:
        for event, host, rows in self.pending:
            event.synchronize()
            self.output[:, rows] = host.numpy()
        self.pending.clear()
