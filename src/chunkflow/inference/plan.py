"""Where each patch of a chunk goes: input position, the part of its output kept, its weights.

A :class:`Plan` is computed once per chunk shape and shared by the host and the device paths, so
both blend exactly the same patches in the same order with the same weights.

With a ``global_bbox`` (the whole region being inferred, e.g. the volume), patches are laid on
that region's grid and weighted with that region's normaliser instead of the chunk's own: a task
that loads its box plus a margin (``load-precomputed -e``) and crops the margin off again then
computes exactly the voxels one inference over the whole region would (see the README, "Exact
tiled inference").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.inference.blend import (
    BUMPS_120,
    affine_axis_parts,
    affine_coefficients,
    ghost_axis_parts,
    normalised_weights,
    raw_wu_1d,
)
from chunkflow.inference.grid import PatchGrid

__all__ = ["Placement", "Plan", "make_plan"]


@dataclass(frozen=True)
class Placement:
    """One patch: ``input_start`` (chunk-relative), the ``local`` part of its output patch that lands
    on ``target`` (output-buffer slices), and the per-axis weights of that part (float32)."""

    input_start: Vec3
    local: tuple[slice, slice, slice]
    target: tuple[slice, slice, slice]
    weights: tuple[np.ndarray, np.ndarray, np.ndarray]
    #: 1.2.0's ``wu`` only: ``(alpha, beta, counts, sums)``, the per-axis patch counts and factor sums of
    #: the kept part; ``weights`` then hold the raw 1D factors (see :mod:`chunkflow.inference.blend`)
    affine: tuple[float, float, tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None = None
    #: ``mask_output_chunk`` with 1.2.0's ``wu`` only: the chunk's summed patch masks over ``target``
    #: (float64), which the weight is divided by
    norm: np.ndarray | None = None

    @property
    def separable(self) -> bool:
        return self.affine is None

    def weight(self) -> np.ndarray:
        """The 3D weight of the kept part, ``wz * (wy * wx)`` (this exact order on every path)."""
        wz, wy, wx = self.weights
        if self.affine is not None:
            alpha, beta, (cz, cy, cx), (nz, ny, nx) = self.affine
            bump = alpha + beta * (wz[:, None, None] * (wy[None, :, None] * wx[None, None, :]))
            norm = alpha * (cz[:, None, None] * (cy[None, :, None] * cx[None, None, :])) + beta * (
                nz[:, None, None] * (ny[None, :, None] * nx[None, None, :])
            )
            if self.norm is not None:
                return (bump / norm / self.norm).astype(np.float32)
            return (bump / norm).astype(np.float32)
        return wz[:, None, None] * (wy[None, :, None] * wx[None, None, :])


@dataclass(frozen=True)
class Plan:
    grid: PatchGrid  #: the grid patches come from (the global one with ``global_bbox``)
    placements: tuple[Placement, ...]
    output_offset: Vec3  #: chunk-relative start of the output chunk
    output_shape: Vec3


def _axis_part(start: int, size: int, lo: int, hi: int) -> tuple[slice, slice] | None:
    """Output patch ``[start, start + size)`` against the kept range ``[lo, hi)`` (same coordinates)."""
    a, b = max(start, lo), min(start + size, hi)
    if a >= b:
        return None
    return slice(a - start, b - start), slice(a - lo, b - lo)


def make_plan(
    grid: PatchGrid,
    chunk_shape: Vec3,
    crop: Vec3,
    bump: str,
    mask_output_chunk: bool,
    chunk_offset: Vec3 | None = None,
    global_bbox: BoundingBox | None = None,
    taper: bool = False,
) -> Plan:
    """Placements of ``grid``'s patches that touch the output (the predicted region less ``crop``).

    Without ``global_bbox`` the grid is the chunk's own. With it, ``grid`` is the global region's
    grid; the output is the chunk less ``margin + crop``, clipped to the region's predicted part,
    and every patch touching it must lie inside the chunk. ``mask_output_chunk`` and ``taper``: see
    :mod:`chunkflow.inference.blend`.
    """
    margin, opatch = grid.margin, grid.output_patch_size
    if global_bbox is None:
        origin = Vec3(0, 0, 0)  # grid coordinates are chunk coordinates
        region = Vec3.of(chunk_shape) - margin * 2
        lo, hi = crop, region - crop
    else:
        assert chunk_offset is not None
        origin = Vec3.of(global_bbox.start) - chunk_offset  # grid origin, chunk-relative
        region = Vec3.of(global_bbox.shape) - margin * 2
        # kept output in grid-output coordinates (output coordinate 0 = grid origin + margin)
        lo = Vec3.of([max(m + c - o - m, 0) for m, c, o in zip(margin, crop, origin)])
        hi = Vec3.of([min(n - m - c - o - m, r) for n, m, c, o, r in zip(chunk_shape, margin, crop, origin, region)])
    if any(h <= low for low, h in zip(lo, hi)):
        raise InvalidParameterError(
            f"output crop margin {tuple(crop)} leaves nothing of the chunk's {tuple(region)} prediction; "
            "pass --output-crop-margin 0 0 0 to keep the whole chunk (or give a larger chunk)"
        )
    affine_parts = None
    masks_120 = mask_output_chunk and bump in BUMPS_120
    if masks_120:  # 1.2.0's patch masks: counts and sums of its 3 x 3 x 3 block, in patch coordinates
        affine_parts = [(raw_wu_1d(o), *ghost_axis_parts(o, stride)) for o, stride in zip(opatch, grid.stride)]
        alpha, beta = affine_coefficients(tuple(opatch))  # type: ignore[arg-type]
        axis_weights = [{s: w for s in starts} for (w, _, _), starts in zip(affine_parts, grid.starts)]
    elif bump in BUMPS_120:
        affine_parts = [
            affine_axis_parts(starts, o, length, stride, taper)
            for starts, o, length, stride in zip(grid.starts, opatch, region, grid.stride)
        ]
        alpha, beta = affine_coefficients(tuple(opatch))  # type: ignore[arg-type]
        axis_weights = [{s: w for s in starts} for (w, _, _), starts in zip(affine_parts, grid.starts)]
    else:
        axis_weights = [
            normalised_weights(starts, o, length, bump, stride, taper)
            for starts, o, length, stride in zip(grid.starts, opatch, region, grid.stride)
        ]
    parts: list[dict[int, tuple[slice, slice]]] = []
    for starts, o, a, b in zip(grid.starts, opatch, lo, hi):
        parts.append({s: p for s in starts if (p := _axis_part(s, o, a, b)) is not None})
    placements = []
    for start in grid:
        if not all(s in part for s, part in zip(start, parts)):
            continue
        (lz, tz), (ly, ty), (lx, tx) = (part[s] for s, part in zip(start, parts))
        input_start = Vec3.of([s + o for s, o in zip(start, origin)])
        if global_bbox is not None:
            _check_inside(input_start, grid.input_patch_size, chunk_shape, chunk_offset, global_bbox)  # type: ignore[arg-type]
        weights = tuple(w[s][loc] for w, s, loc in zip(axis_weights, start, (lz, ly, lx)))
        affine = None
        if affine_parts is not None:
            # counts and sums at the kept voxels: region coordinates s + local
            spans = [slice(s + loc.start, s + loc.stop) for s, loc in zip(start, (lz, ly, lx))]
            if masks_120:  # patch coordinates
                spans = [lz, ly, lx]
            affine = (alpha, beta, tuple(c[sp] for (_, c, _), sp in zip(affine_parts, spans)),
                      tuple(n[sp] for (_, _, n), sp in zip(affine_parts, spans)))  # fmt: skip
        placements.append(Placement(input_start, (lz, ly, lx), (tz, ty, tx), weights, affine))  # type: ignore[arg-type]
    if masks_120:
        placements = _divided_by_chunk_sum(placements, hi - lo)
    offset = Vec3.of([o + m + a for o, m, a in zip(origin, margin, lo)])
    return Plan(grid, tuple(placements), offset, hi - lo)


def _divided_by_chunk_sum(placements: list[Placement], shape: Vec3) -> list[Placement]:
    """1.2.0's ``--mask-output-chunk``: each patch mask divided by the sum of the chunk's own masks."""
    total = np.zeros(tuple(shape), dtype=np.float64)
    for placement in placements:
        total[placement.target] += placement.weight()
    return [replace(placement, norm=total[placement.target]) for placement in placements]


def _check_inside(start: Vec3, size: Vec3, chunk_shape: Vec3, chunk_offset: Vec3, global_bbox: BoundingBox) -> None:
    if all(s >= 0 and s + i <= n for s, i, n in zip(start, size, chunk_shape)):
        return
    need = [max(-s, s + i - n, 0) for s, i, n in zip(start, size, chunk_shape)]
    raise InvalidParameterError(
        f"patch at {tuple(start + chunk_offset)} of the {global_bbox} grid reaches {tuple(need)} voxels outside "
        f"the input chunk at {BoundingBox.from_size(chunk_offset, chunk_shape)}; load it with a larger margin "
        "(load-* -e) or crop more (--output-crop-margin)"
    )
