"""ConvNet inference over a chunk of any size, patch by patch, blended into one seamless output.

Memory: one float32 output buffer of exactly the output chunk's size (normalised weights, see
:mod:`chunkflow.inference.blend`), plus a couple of batches in flight. Per-patch outputs are
never held for the whole chunk.

Two paths compute the same thing (:class:`~chunkflow.inference.plan.Plan`: same patches, same
order, same weights). The host path gathers batches in numpy and blends on the CPU; on a GPU it
gathers and runs the next batch in a thread while the main thread blends. The device path
(:mod:`chunkflow.inference.device`, PyTorch models) keeps the chunk and the blending buffer on the
model's device and copies the result back once. Integer images are divided by their dtype's
maximum first, as chunkflow 1.2.0 does (``normalize_input=False`` feeds raw values).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError, ModelError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.inference.augment import AugmentedEngine
from chunkflow.inference.blend import BUMPS
from chunkflow.inference.engines import Engine
from chunkflow.inference.grid import PatchGrid, make_grid
from chunkflow.inference.options import ModelOptions, PatchOptions, RunOptions, as_keywords
from chunkflow.inference.plan import Placement, Plan, make_plan
from chunkflow.memory import populated_zeros

__all__ = ["Inferencer", "INPUT_DTYPES", "check_prediction_shape"]

log = logging.getLogger(__name__)

INPUT_DTYPES = ("uint8", "uint16", "int8", "int16", "float16", "float32", "float64")
NONFINITE = ("error", "replace")


def check_prediction_shape(shape: tuple[int, ...], grid: PatchGrid, n: int, channels: int) -> Vec3 | None:
    """Refuse a model output of the wrong shape; the margin to crop (input-sized output) or None."""
    spatial = tuple(shape[2:])
    if len(shape) != 5 or shape[0] != n:
        raise ModelError(f"model returned shape {tuple(shape)}; expected (batch={n}, channels, z, y, x)")
    if shape[1] != channels:
        raise ModelError(
            f"model returned {shape[1]} output channel(s) but --num-output-channels is {channels}; "
            f"pass -c {shape[1]} or check the model"
        )
    if spatial == tuple(grid.output_patch_size):
        return None
    if spatial == tuple(grid.input_patch_size):
        return grid.margin
    raise ModelError(
        f"model returned patches of {spatial}; expected the input patch {tuple(grid.input_patch_size)} "
        f"or the output patch {tuple(grid.output_patch_size)}"
    )


@dataclass
class Inferencer:
    """Run ``engine`` over chunks. Parameters mirror the ``inference`` operator's flags; they are grouped
    in :mod:`chunkflow.inference.options` (:meth:`from_options`), and also taken one by one as keywords.

    ``output_crop_margin`` defaults to chunkflow 1.2.0's choice: the patch overlap, or nothing
    with ``mask_output_chunk`` or ``global_bbox``. It is counted from the predicted region, i.e.
    on top of ``(input_patch - output_patch) / 2``.
    """

    engine: Engine
    input_patch_size: Vec3Like
    output_patch_size: Vec3Like | None = None
    output_patch_overlap: Vec3Like | None = None
    output_crop_margin: Vec3Like | None = None
    patch_num: Vec3Like | None = None
    num_input_channels: int = 1
    num_output_channels: int = 3
    batch_size: int | str = 1
    bump: str = "wu"
    #: chunkflow 1.2.0's flag: normalise by the chunk's own summed weights (see :mod:`chunkflow.inference.blend`)
    mask_output_chunk: bool = False
    augment: bool = False
    dtype: str = "float32"
    output_layer_type: str | None = None
    progress: bool = True
    #: memory-map the output buffer in an (unlinked) file under this directory, for outputs larger
    #: than RAM; the OS pages finished regions out. None: an in-memory buffer.
    output_buffer_dir: str | None = None
    #: divide integer images by their dtype's maximum before the model (chunkflow 1.2.0 does)
    normalize_input: bool = True
    #: NaN/Inf in the output: "error" (refuse the chunk) or "replace" (by 0, counted in the log)
    nonfinite: str = "error"
    #: the whole region inferred in tiles: patches on its grid, weights of its normaliser
    global_bbox: BoundingBox | None = None
    #: True: device path, False: host path, None: the device path where the engine supports it
    device_path: bool | None = None
    #: bytes of device memory for the input and output windows (None: whole chunk; on CUDA, half the free memory)
    device_memory_limit: int | None = None
    #: ours: taper the chunk's border band so that chunks overlapping by the patch overlap sum to a whole
    taper_output_chunk: bool = False

    @classmethod
    def from_options(
        cls, engine: Engine, patches: PatchOptions, model: ModelOptions | None = None, run: RunOptions | None = None
    ) -> Inferencer:
        """An inferencer from the three groups of :mod:`chunkflow.inference.options` (defaults where omitted)."""
        return cls(engine, **as_keywords(patches, model or ModelOptions(), run or RunOptions()))

    def __post_init__(self) -> None:
        if self.batch_size != "auto" and (not isinstance(self.batch_size, int) or self.batch_size < 1):
            raise InvalidParameterError(f"batch size {self.batch_size!r} must be at least 1 or 'auto'")
        if self.num_output_channels < 1 or self.num_input_channels < 1:
            raise InvalidParameterError("channel numbers must be at least 1")
        if self.dtype not in ("float32", "float16"):
            raise InvalidParameterError(f"output dtype {self.dtype!r} is not float32 or float16")
        if self.nonfinite not in NONFINITE:
            raise InvalidParameterError(f"nonfinite {self.nonfinite!r} is not one of {', '.join(NONFINITE)}")
        if self.global_bbox is not None and (
            self.mask_output_chunk or self.taper_output_chunk or self.patch_num is not None
        ):
            raise InvalidParameterError(
                "--global-bbox lays its own grid; drop --mask-output-chunk, --taper-output-chunk and --patch-num"
            )
        if self.mask_output_chunk and self.taper_output_chunk:
            raise InvalidParameterError("--mask-output-chunk and --taper-output-chunk exclude each other; pick one")
        if self.bump not in BUMPS:
            raise InvalidParameterError(f"bump {self.bump!r} is not one of {', '.join(BUMPS)}")
        if self.output_layer_type is None:
            self.output_layer_type = "affinity_map" if self.num_output_channels == 3 else "probability_map"
        if self.augment:
            self.engine = AugmentedEngine(self.engine, affinity=self.output_layer_type == "affinity_map")
        if self.batch_size == "auto":
            suggest = getattr(self.engine, "suggest_batch_size", None)
            self.batch_size = suggest(self.input_patch_size, self.num_input_channels) if suggest else 1

    def grid(self, chunk_shape: Vec3Like) -> PatchGrid:
        grid = make_grid(
            chunk_shape, self.input_patch_size, self.output_patch_size, self.output_patch_overlap, self.patch_num
        )
        if self.taper_output_chunk and not grid.is_regular():
            size = grid.output_patch_size + grid.stride * (Vec3.of(grid.shape) - 1) + grid.margin * 2
            raise InvalidParameterError(
                f"--taper-output-chunk needs a chunk that fits the patch grid exactly; chunk {tuple(grid.chunk_shape)} "
                f"does not (e.g. {tuple(size)} does: input patch + k * stride)"
            )
        return grid

    def crop_margin(self, grid: PatchGrid) -> Vec3:
        if self.output_crop_margin is not None:
            return Vec3.of(self.output_crop_margin)
        whole = self.mask_output_chunk or self.taper_output_chunk or self.global_bbox is not None
        return Vec3(0, 0, 0) if whole else grid.overlap

    def plan(self, chunk: Chunk) -> Plan:
        """Where every patch of ``chunk`` goes (see :mod:`chunkflow.inference.plan`)."""
        if self.global_bbox is None:
            grid = self.grid(chunk.spatial_shape)
        else:
            grid = make_grid(
                self.global_bbox.shape, self.input_patch_size, self.output_patch_size, self.output_patch_overlap
            )
        crop = self.crop_margin(grid)
        if any(c < 0 for c in crop):
            raise InvalidParameterError(f"output crop margin {tuple(crop)} must not be negative")
        if self.global_bbox is not None and chunk.bbox.intersection(self.global_bbox) is None:
            raise InvalidParameterError(f"chunk at {chunk.bbox} lies outside --global-bbox {self.global_bbox}")
        plan = make_plan(
            grid,
            Vec3.of(chunk.spatial_shape),
            crop,
            self.bump,
            self.mask_output_chunk,
            Vec3.of(chunk.voxel_offset),
            self.global_bbox,
            self.taper_output_chunk,
        )
        kept, whole = int(np.prod(list(plan.output_shape))), int(np.prod(list(chunk.spatial_shape)))
        if self.output_crop_margin is None and self.global_bbox is None and crop != Vec3(0, 0, 0) and kept * 2 < whole:
            log.info(
                "inference keeps %s of the %s chunk: the default output crop is the patch overlap %s (1.2.0's "
                "default); --output-crop-margin 0 0 0 keeps the whole chunk",
                "x".join(map(str, plan.output_shape)),
                "x".join(map(str, chunk.spatial_shape)),
                tuple(crop),
            )
        return plan

    def __call__(self, chunk: Chunk) -> Chunk:
        """Predict ``chunk`` (3D, or 4D channels-first); returns a float chunk (C, Z, Y, X)."""
        self._check_input(chunk)
        plan = self.plan(chunk)
        array = chunk.array if chunk.ndim == 4 else chunk.array[np.newaxis]
        scale = int(np.iinfo(array.dtype).max) if self.normalize_input and array.dtype.kind in "iu" else None
        shape = (self.num_output_channels, *plan.output_shape)
        self._bad = 0
        if self._use_device_path():
            from chunkflow.inference.device import DeviceRun

            output = self._output_buffer(shape, self.dtype)
            limit = self.device_memory_limit
            if limit is None and self.engine.torch_device.type == "cuda":  # type: ignore[attr-defined]
                limit = self.engine.torch.cuda.mem_get_info(self.engine.torch_device)[0] // 2  # type: ignore[attr-defined]
            bar = _progress(len(plan.placements), self.progress)
            try:
                DeviceRun(
                    self.engine,
                    array,
                    plan,
                    self.batch_size,  # type: ignore[arg-type]
                    scale,
                    output,
                    lambda slab, rows: self._check_device(slab, chunk),
                    limit,
                ).run(bar.update)
            finally:
                bar.close()
            result = output
        else:
            output = self._output_buffer(shape, "float32")
            for placements, prediction in self._predictions(array, plan, scale):
                for placement, patch in zip(placements, prediction):
                    self._blend(output, patch, placement)
            self._check_host(output, chunk)
            result = output if self.dtype == "float32" else output.astype(self.dtype)
        if self._bad:
            log.warning("inference: replaced %d NaN/Inf output value(s) by 0 in the chunk at %s", self._bad, chunk.bbox)
        offset = chunk.voxel_offset + plan.output_offset
        return Chunk(result, offset, chunk.voxel_size, self.output_layer_type)

    def _use_device_path(self) -> bool:
        capable = hasattr(self.engine, "forward") and getattr(self.engine, "pre_process", None) is None
        if self.device_path is None:
            return capable
        if self.device_path and not capable:
            raise InvalidParameterError("the device path needs a PyTorch model without pre_process (and no --augment)")
        return self.device_path

    def _nonfinite_message(self, count: int, chunk: Chunk) -> str:
        return (
            f"the model produced {count} NaN/Inf output value(s) in the chunk at {chunk.bbox}; check the model "
            "and its input scaling (--normalize-input), or pass --nonfinite replace to set them to 0"
        )

    def _check_host(self, output: np.ndarray, chunk: Chunk) -> None:
        for z in range(0, output.shape[1], 8):  # in slabs: no output-sized temporary
            slab = output[:, z : z + 8]
            bad = ~np.isfinite(slab)
            count = int(bad.sum())
            if count and self.nonfinite == "error":
                raise ModelError(self._nonfinite_message(count + self._count_rest(output, z + 8), chunk))
            if count:
                slab[bad] = 0
                self._bad += count

    @staticmethod
    def _count_rest(output: np.ndarray, z: int) -> int:
        return int(sum((~np.isfinite(output[:, i : i + 8])).sum() for i in range(z, output.shape[1], 8)))

    def _check_device(self, slab: Any, chunk: Chunk) -> None:
        """Count NaN/Inf in ``slab`` (C, Z, Y, X) on its device, 4 z-rows at a time (isfinite's temporaries
        are several times the rows' size), with one synchronisation at the end."""
        if slab.device.type == "cpu":  # numpy's isfinite makes only a bool temporary
            self._check_host(slab.numpy(), chunk)
            return
        torch = self.engine.torch  # type: ignore[attr-defined]
        count = torch.zeros((), dtype=torch.int64, device=slab.device)
        for z in range(0, slab.shape[1], 4):
            count += (~torch.isfinite(slab[:, z : z + 4])).sum()
        bad = int(count)
        if not bad:
            return
        if self.nonfinite == "error":
            raise ModelError(self._nonfinite_message(bad, chunk))
        torch.nan_to_num_(slab, nan=0.0, posinf=0.0, neginf=0.0)
        self._bad += bad

    def _output_buffer(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        if self.output_buffer_dir is None:
            return populated_zeros(shape, dtype)
        import os
        import tempfile

        if not os.path.isdir(self.output_buffer_dir):
            raise InvalidParameterError(
                f"output buffer directory {self.output_buffer_dir!r} does not exist; create it first"
            )
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        with tempfile.TemporaryFile(dir=self.output_buffer_dir, prefix="chunkflow-output-") as f:  # gone on close
            try:
                f.truncate(nbytes)  # sparse: reads as zeros, no disk used until written
            except OSError as exc:
                raise InvalidParameterError(
                    f"cannot make a {nbytes / 2**30:.1f} GiB output buffer in "
                    f"{self.output_buffer_dir!r}: {exc.strerror}"
                ) from None
            return np.memmap(f, dtype=dtype, mode="r+", shape=shape)

    def _check_input(self, chunk: Chunk) -> None:
        if chunk.dtype.name not in INPUT_DTYPES:
            raise IncompatibleChunkError(
                f"inference input dtype {chunk.dtype} is not supported; convert to one of {', '.join(INPUT_DTYPES)}"
            )
        if chunk.num_channels != self.num_input_channels:
            raise IncompatibleChunkError(
                f"input chunk has {chunk.num_channels} channel(s) but --num-input-channels is {self.num_input_channels}"
            )
        if chunk.dtype.kind == "f" and not np.isfinite(chunk.array).all():
            raise IncompatibleChunkError(f"input chunk at {chunk.bbox} holds NaN or infinite values; clean it first")

    def _batches(
        self, array: np.ndarray, plan: Plan, scale: int | None, reuse: bool = False
    ) -> Iterator[tuple[tuple[Placement, ...], np.ndarray]]:
        """Batches of input patches; with ``reuse`` one buffer is refilled (the consumer must be done with it)."""
        size = plan.grid.input_patch_size
        batch_size: int = self.batch_size  # type: ignore[assignment]
        buffer = np.empty((batch_size, array.shape[0], *size), dtype=np.float32)
        for i in range(0, len(plan.placements), batch_size):
            placements = plan.placements[i : i + batch_size]
            if reuse:
                batch = buffer[: len(placements)]
            else:
                batch = np.empty((len(placements), array.shape[0], *size), dtype=np.float32)
            for b, p in enumerate(placements):
                s = p.input_start
                batch[b] = array[:, s.z : s.z + size.z, s.y : s.y + size.y, s.x : s.x + size.x]
            if scale is not None:
                batch /= scale
            yield placements, batch

    def _predictions(
        self, array: np.ndarray, plan: Plan, scale: int | None
    ) -> Iterator[tuple[tuple[Placement, ...], np.ndarray]]:
        """Engine outputs cropped to the output patch.

        On an accelerator the next batch is gathered and computed in a thread while this one is
        blended. On the CPU the engine already uses every core, and a second busy thread only
        contends with it (measured: slower), so there it runs in line.
        """
        bar = _progress(len(plan.placements), self.progress)
        if str(getattr(self.engine, "device", "cpu")).startswith("cpu"):
            try:
                for placements, batch in self._batches(array, plan, scale, reuse=True):
                    yield placements, self._checked(self.engine.predict(batch), plan.grid, len(placements))
                    bar.update(len(placements))
            finally:
                bar.close()
            return
        results: queue.Queue[Any] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def produce() -> None:
            try:
                for placements, batch in self._batches(array, plan, scale):
                    if stop.is_set():
                        return
                    results.put((placements, self._checked(self.engine.predict(batch), plan.grid, len(placements))))
                results.put(None)
            except BaseException as exc:  # handed to the consumer, raised there
                results.put(exc)

        worker = threading.Thread(target=produce, name="chunkflow-inference", daemon=True)
        worker.start()
        try:
            while (item := results.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
                bar.update(len(item[0]))
        finally:
            stop.set()
            while worker.is_alive():  # unblock a producer waiting on a full queue
                try:
                    results.get_nowait()
                except queue.Empty:
                    worker.join(0.05)
            bar.close()

    def _checked(self, prediction: np.ndarray, grid: PatchGrid, n: int) -> np.ndarray:
        margin = check_prediction_shape(prediction.shape, grid, n, self.num_output_channels)
        if margin is None:
            return prediction
        z, y, x = prediction.shape[2:]
        return prediction[..., margin.z : z - margin.z, margin.y : y - margin.y, margin.x : x - margin.x]

    @staticmethod
    def _blend(output: np.ndarray, patch: np.ndarray, placement: Placement) -> None:
        """Add ``patch * weight`` into ``output`` where the patch meets the output box."""
        weight = placement.weight()
        part = patch[(slice(None), *placement.local)]
        target_view = output[(slice(None), *placement.target)]
        torch = sys.modules.get("torch")
        if torch is not None:  # already loaded by the engine: its fused, multi-threaded multiply-add
            torch.from_numpy(target_view).addcmul_(
                torch.from_numpy(np.ascontiguousarray(part)), torch.from_numpy(weight)
            )
        elif part.flags.writeable:  # engine outputs are ours to scale in place: no temporary
            np.multiply(part, weight, out=part)
            target_view += part
        else:
            target_view += part * weight


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="inference", unit="patch", disable=None if enabled else True, leave=False)
