"""The patch grid: where input patches go inside a chunk.

Along each axis, output patches of size ``O`` step by ``stride = O - overlap``; the last patch
is moved back to end flush with the chunk, so any chunk at least one input patch long is
covered and no chunk size is refused. An input patch of size ``I >= O`` (valid convolutions)
predicts its centred ``O``-sized output patch, so the predicted region of the chunk is the chunk
shrunk by ``(I - O) / 2`` on every side.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import Vec3, Vec3Like

__all__ = ["PatchGrid", "make_grid", "axis_starts"]


def axis_starts(length: int, patch: int, stride: int) -> tuple[int, ...]:
    """Patch starts ``0, stride, 2 stride, ...`` with the last one flush at ``length - patch``."""
    last = length - patch
    starts = list(range(0, last, stride))
    starts.append(last)
    return tuple(starts)


@dataclass(frozen=True)
class PatchGrid:
    """Input patch positions inside a chunk (chunk-relative, ZYX).

    ``starts[a]`` are the input-patch starts along axis ``a``; the output patch of a patch
    starting at ``s`` covers ``[s + margin, s + margin + O)``.
    """

    chunk_shape: Vec3
    input_patch_size: Vec3
    output_patch_size: Vec3
    stride: Vec3
    starts: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]

    @property
    def margin(self) -> Vec3:
        """Voxels at each face of the chunk that no output patch covers: ``(I - O) / 2``."""
        return (self.input_patch_size - self.output_patch_size) // 2

    @property
    def overlap(self) -> Vec3:
        return self.output_patch_size - self.stride

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(len(s) for s in self.starts)  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.starts[0]) * len(self.starts[1]) * len(self.starts[2])

    def __iter__(self) -> Iterator[Vec3]:
        for z, y, x in itertools.product(*self.starts):
            yield Vec3(z, y, x)

    def is_regular(self) -> bool:
        """True where every step equals the stride (no flush-shifted last patch)."""
        return all(all(b - a == s for a, b in zip(starts, starts[1:])) for starts, s in zip(self.starts, self.stride))


def make_grid(
    chunk_shape: Vec3Like,
    input_patch_size: Vec3Like,
    output_patch_size: Vec3Like | None = None,
    output_patch_overlap: Vec3Like | None = None,
    patch_num: Vec3Like | None = None,
) -> PatchGrid:
    """Lay patches over a chunk; see the module docstring. Every bad combination is refused here."""
    shape, ipatch = Vec3.of(chunk_shape), Vec3.of(input_patch_size)
    opatch = ipatch if output_patch_size is None else Vec3.of(output_patch_size)
    if any(s <= 0 for s in (*ipatch, *opatch)):
        raise InvalidParameterError(f"patch sizes must be positive, got input {tuple(ipatch)} output {tuple(opatch)}")
    if any(o > i or (i - o) % 2 for i, o in zip(ipatch, opatch)):
        raise InvalidParameterError(
            f"output patch {tuple(opatch)} must fit centred in input patch {tuple(ipatch)} (no larger, even difference)"
        )
    if any(i > s for i, s in zip(ipatch, shape)):
        raise InvalidParameterError(
            f"input patch {tuple(ipatch)} is larger than the chunk {tuple(shape)}; use a smaller patch or a larger chunk"
        )
    if patch_num is not None:
        stride = _stride_from_patch_num(shape, ipatch, Vec3.of(patch_num))
        if output_patch_overlap is not None and opatch - stride != Vec3.of(output_patch_overlap):
            # 1.2.0 took both: the overlap lays the grid, the patch number the chunk it expects
            fits = ipatch + (opatch - Vec3.of(output_patch_overlap)) * (Vec3.of(patch_num) - 1)
            raise InvalidParameterError(
                f"--patch-num {tuple(Vec3.of(patch_num))} over a chunk of {tuple(shape)} gives an output patch overlap of "
                f"{tuple(opatch - stride)}, not --output-patch-overlap {tuple(Vec3.of(output_patch_overlap))}; give one of "
                f"them, or a chunk of {tuple(fits)}"
            )
    else:
        overlap = opatch // 2 if output_patch_overlap is None else Vec3.of(output_patch_overlap)
        if any(v < 0 or v >= o for v, o in zip(overlap, opatch)):
            raise InvalidParameterError(
                f"output patch overlap {tuple(overlap)} must be at least 0 and smaller than the output patch {tuple(opatch)}"
            )
        stride = opatch - overlap
    starts = tuple(axis_starts(s, i, st) for s, i, st in zip(shape, ipatch, stride))
    return PatchGrid(shape, ipatch, opatch, stride, starts)  # type: ignore[arg-type]


def _stride_from_patch_num(shape: Vec3, ipatch: Vec3, patch_num: Vec3) -> Vec3:
    if any(n <= 0 for n in patch_num):
        raise InvalidParameterError(f"patch number {tuple(patch_num)} must be positive")
    strides = []
    for s, i, n in zip(shape, ipatch, patch_num):
        if n == 1:
            if s != i:
                raise InvalidParameterError(
                    f"one patch of size {i} cannot cover a chunk axis of {s}; raise --patch-num"
                )
            strides.append(i)
            continue
        stride = (s - i) // (n - 1)
        if stride <= 0 or -(-(s - i) // stride) + 1 != n:
            raise InvalidParameterError(f"{n} patches of size {i} cannot tile a chunk axis of {s} with overlap")
        strides.append(stride)
    return Vec3.of(strides)
