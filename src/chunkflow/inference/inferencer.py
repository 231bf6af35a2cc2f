"""ConvNet inference over a chunk of any size, patch by patch, blended into one seamless output.

Memory: one float32 output buffer of exactly the output chunk's size (normalised weights, see
:mod:`chunkflow.inference.blend`), plus a couple of batches in flight. Per-patch outputs are
never held for the whole chunk. On a GPU, gathering the next batch and running the engine happen
in a background thread while the main thread blends the previous batch (numpy and torch release
the GIL), so host-to-device copy, compute and blending overlap.
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

from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError, ModelError
from chunkflow.geometry import Vec3, Vec3Like
from chunkflow.inference.augment import AugmentedEngine
from chunkflow.inference.blend import normalised_weights
from chunkflow.inference.engines import Engine
from chunkflow.inference.grid import PatchGrid, make_grid
from chunkflow.memory import populated_zeros

__all__ = ["Inferencer", "INPUT_DTYPES"]

log = logging.getLogger(__name__)

INPUT_DTYPES = ("uint8", "uint16", "int8", "int16", "float16", "float32", "float64")


@dataclass
class Inferencer:
    """Run ``engine`` over chunks. Parameters mirror the ``inference`` operator's flags.

    ``output_crop_margin`` defaults to chunkflow 1.2.0's choice: the patch overlap, or nothing
    with ``mask_output_chunk``. It is counted from the predicted region, i.e. on top of
    ``(input_patch - output_patch) / 2``.
    """

    engine: Engine
    input_patch_size: Vec3Like
    output_patch_size: Vec3Like | None = None
    output_patch_overlap: Vec3Like | None = None
    output_crop_margin: Vec3Like | None = None
    patch_num: Vec3Like | None = None
    num_input_channels: int = 1
    num_output_channels: int = 3
    batch_size: int = 1
    bump: str = "wu"
    mask_output_chunk: bool = False
    augment: bool = False
    dtype: str = "float32"
    output_layer_type: str | None = None
    progress: bool = True
    #: memory-map the output buffer in an (unlinked) file under this directory, for outputs larger
    #: than RAM; the OS pages finished regions out. None: an in-memory buffer.
    output_buffer_dir: str | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise InvalidParameterError(f"batch size {self.batch_size} must be at least 1")
        if self.num_output_channels < 1 or self.num_input_channels < 1:
            raise InvalidParameterError("channel numbers must be at least 1")
        if self.dtype not in ("float32", "float16"):
            raise InvalidParameterError(f"output dtype {self.dtype!r} is not float32 or float16")
        if self.output_layer_type is None:
            self.output_layer_type = "affinity_map" if self.num_output_channels == 3 else "probability_map"
        if self.augment:
            self.engine = AugmentedEngine(self.engine, affinity=self.output_layer_type == "affinity_map")

    def grid(self, chunk_shape: Vec3Like) -> PatchGrid:
        grid = make_grid(chunk_shape, self.input_patch_size, self.output_patch_size, self.output_patch_overlap,
                         self.patch_num)  # fmt: skip
        if self.mask_output_chunk and not grid.is_regular():
            size = grid.output_patch_size + grid.stride * (Vec3.of(grid.shape) - 1) + grid.margin * 2
            raise InvalidParameterError(
                f"--mask-output-chunk needs a chunk that fits the patch grid exactly; chunk {tuple(grid.chunk_shape)} "
                f"does not (e.g. {tuple(size)} does: input patch + k * stride)"
            )
        return grid

    def crop_margin(self, grid: PatchGrid) -> Vec3:
        if self.output_crop_margin is not None:
            return Vec3.of(self.output_crop_margin)
        return Vec3(0, 0, 0) if self.mask_output_chunk else grid.overlap

    def __call__(self, chunk: Chunk) -> Chunk:
        """Predict ``chunk`` (3D, or 4D channels-first); returns a float chunk (C, Z, Y, X)."""
        self._check_input(chunk)
        grid = self.grid(chunk.spatial_shape)
        crop = self.crop_margin(grid)
        region = Vec3.of(chunk.spatial_shape) - grid.margin * 2  # predicted region, output coordinates
        out_shape = region - crop * 2
        if any(c < 0 for c in crop) or any(s <= 0 for s in out_shape):
            raise InvalidParameterError(f"output crop margin {tuple(crop)} leaves nothing of the {tuple(region)} prediction")
        weights = [
            normalised_weights(starts, o, length, self.bump, stride, self.mask_output_chunk)
            for starts, o, length, stride in zip(grid.starts, grid.output_patch_size, region, grid.stride)
        ]
        output = self._output_buffer((self.num_output_channels, *out_shape))
        array = chunk.array if chunk.ndim == 4 else chunk.array[np.newaxis]
        for starts, prediction in self._predictions(array, grid):
            for start, patch in zip(starts, prediction):
                self._blend(output, patch, start, grid, weights, crop)
        result = output if self.dtype == "float32" else output.astype(self.dtype)
        offset = chunk.voxel_offset + grid.margin + crop
        return Chunk(result, offset, chunk.voxel_size, self.output_layer_type)  # type: ignore[arg-type]

    def _output_buffer(self, shape: tuple[int, ...]) -> np.ndarray:
        if self.output_buffer_dir is None:
            return populated_zeros(shape, np.float32)
        import os
        import tempfile

        if not os.path.isdir(self.output_buffer_dir):
            raise InvalidParameterError(f"output buffer directory {self.output_buffer_dir!r} does not exist; create it first")
        nbytes = int(np.prod(shape)) * 4
        with tempfile.TemporaryFile(dir=self.output_buffer_dir, prefix="chunkflow-output-") as f:  # gone on close
            try:
                f.truncate(nbytes)  # sparse: reads as zeros, no disk used until written
            except OSError as exc:
                raise InvalidParameterError(f"cannot make a {nbytes / 2**30:.1f} GiB output buffer in "
                                            f"{self.output_buffer_dir!r}: {exc.strerror}") from None  # fmt: skip
            return np.memmap(f, dtype=np.float32, mode="r+", shape=shape)

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
        self, array: np.ndarray, grid: PatchGrid, reuse: bool = False
    ) -> Iterator[tuple[list[Vec3], np.ndarray]]:
        """Batches of input patches; with ``reuse`` one buffer is refilled (the consumer must be done with it)."""
        size = grid.input_patch_size
        patches = list(grid)
        buffer = np.empty((self.batch_size, array.shape[0], *size), dtype=np.float32)
        for i in range(0, len(patches), self.batch_size):
            starts = patches[i : i + self.batch_size]
            if reuse:
                batch = buffer[: len(starts)]
            else:
                batch = np.empty((len(starts), array.shape[0], *size), dtype=np.float32)
            for b, s in enumerate(starts):
                batch[b] = array[:, s.z : s.z + size.z, s.y : s.y + size.y, s.x : s.x + size.x]
            yield starts, batch

    def _predictions(self, array: np.ndarray, grid: PatchGrid) -> Iterator[tuple[list[Vec3], np.ndarray]]:
        """Engine outputs cropped to the output patch.

        On an accelerator the next batch is gathered and computed in a thread while this one is
        blended. On the CPU the engine already uses every core, and a second busy thread only
        contends with it (measured: slower), so there it runs in line.
        """
        bar = _progress(len(grid), self.progress)
        if str(getattr(self.engine, "device", "cpu")).startswith("cpu"):
            try:
                for starts, batch in self._batches(array, grid, reuse=True):
                    yield starts, self._checked(self.engine.predict(batch), grid, len(starts))
                    bar.update(len(starts))
            finally:
                bar.close()
            return
        results: queue.Queue[Any] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def produce() -> None:
            try:
                for starts, batch in self._batches(array, grid):
                    if stop.is_set():
                        return
                    results.put((starts, self._checked(self.engine.predict(batch), grid, len(starts))))
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
        spatial = tuple(prediction.shape[2:])
        if prediction.ndim != 5 or prediction.shape[0] != n:
            raise ModelError(f"model returned shape {prediction.shape}; expected (batch={n}, channels, z, y, x)")
        if prediction.shape[1] != self.num_output_channels:
            raise ModelError(
                f"model returned {prediction.shape[1]} output channel(s) but --num-output-channels is "
                f"{self.num_output_channels}; pass -c {prediction.shape[1]} or check the model"
            )
        if spatial == tuple(grid.output_patch_size):
            return prediction
        if spatial == tuple(grid.input_patch_size):
            m = grid.margin
            return prediction[..., m.z : spatial[0] - m.z, m.y : spatial[1] - m.y, m.x : spatial[2] - m.x]
        raise ModelError(
            f"model returned patches of {spatial}; expected the input patch {tuple(grid.input_patch_size)} "
            f"or the output patch {tuple(grid.output_patch_size)}"
        )

    @staticmethod
    def _blend(output: np.ndarray, patch: np.ndarray, start: Vec3, grid: PatchGrid, weights: list, crop: Vec3) -> None:
        """Add ``patch * weight`` into ``output`` where the patch meets the (cropped) output box."""
        wz, wy, wx = weights[0][start.z], weights[1][start.y], weights[2][start.x]
        local, target = [], []
        for s, o, c, n in zip(start, grid.output_patch_size, crop, output.shape[1:]):
            lo, hi = max(s - c, 0), min(s - c + o, n)  # patch in output-buffer coordinates
            if lo >= hi:
                return
            local.append(slice(lo - (s - c), hi - (s - c)))
            target.append(slice(lo, hi))
        weight = wz[local[0], None, None] * (wy[None, local[1], None] * wx[None, None, local[2]])
        part = patch[:, local[0], local[1], local[2]]
        target_view = output[:, target[0], target[1], target[2]]
        torch = sys.modules.get("torch")
        if torch is not None:  # already loaded by the engine: its fused, multi-threaded multiply-add
            torch.from_numpy(target_view).addcmul_(torch.from_numpy(np.ascontiguousarray(part)), torch.from_numpy(weight))
        elif part.flags.writeable:  # engine outputs are ours to scale in place: no temporary
            np.multiply(part, weight, out=part)
            target_view += part
        else:
            target_view += part * weight


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="inference", unit="patch", disable=None if enabled else True, leave=False)
