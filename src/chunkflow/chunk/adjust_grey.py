"""Grey-level adjustments of 1.2.0's ``chunkflow.chunk.image.adjust_grey`` that operators use."""

from __future__ import annotations

import numpy as np

__all__ = ["normalize_sections"]


def normalize_sections(
    array: np.ndarray, nominalmin: float | None, nominalmax: float | None, clip: bool = False
) -> np.ndarray:
    """Shang's section normalisation (1.2.0's ``normalize_shang``): for each section (axis -3), the
    min and max of its voxels other than the section's extreme values are mapped linearly onto
    ``[nominalmin, nominalmax]`` (defaults 0 and ``2**bits - 1`` of the input dtype), clipped there
    with ``clip``. float32 out. A section with fewer than two distinct inner values is left as it is
    (1.2.0 divided by zero there)."""
    low = 0.0 if nominalmin is None else float(nominalmin)
    high = float(2 ** (np.dtype(array.dtype).itemsize * 8) - 1) if nominalmax is None else float(nominalmax)
    if not low < high:
        from chunkflow.errors import InvalidParameterError

        raise InvalidParameterError(f"--nominalmin {low} must be below --nominalmax {high}")
    out = array.astype(np.float32)
    for z in range(out.shape[-3]):
        section = out[..., z, :, :]
        inner = section[(section != section.min()) & (section != section.max())]
        if inner.size == 0 or inner.min() == inner.max():
            continue
        smin, smax = float(inner.min()), float(inner.max())
        section -= smin
        section *= (high - low) / (smax - smin)
        section += low
        if clip:
            np.clip(section, low, high, out=section)
    return out
