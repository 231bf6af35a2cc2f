"""Agglomeration threshold sweeps: one watershed and one waterz run for all thresholds, each
segmentation scored against ground truth; a JSON table and a PNG of the curves.

The best threshold is the one with the lowest adapted Rand error (ties: lower VI, then the
lower threshold).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chunkflow.chunk.base import Chunk
from chunkflow.errors import InvalidParameterError

__all__ = ["SweepResult", "sweep_thresholds", "plot_sweep", "write_sweep"]

_COLUMNS = ("adapted_rand_error", "adapted_rand_precision", "adapted_rand_recall", "variation_of_information",
            "voi_split", "voi_merge", "rand_index")  # fmt: skip


@dataclass
class SweepResult:
    scoring: str
    rows: list[dict[str, float]] = field(default_factory=list)
    best_threshold: float = float("nan")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def best(self) -> dict[str, float]:
        return next(r for r in self.rows if r["threshold"] == self.best_threshold)


def sweep_thresholds(
    affs: Chunk,
    ground_truth: Chunk,
    thresholds: list[float],
    aff_threshold_low: float = 0.0001,
    aff_threshold_high: float = 0.9999,
    scoring: str = "mean",
    fragments: Chunk | None = None,
) -> tuple[SweepResult, Chunk]:
    """Agglomerate ``affs`` at every threshold in one waterz run and score each against
    ``ground_truth`` (label 0 ignored). Returns the table and the best segmentation.

    Every segmentation is a union of watershed fragments, so the (ground truth, fragment)
    overlap table is built once from the voxels and each threshold's table is that one with its
    columns merged: scoring a threshold costs O(fragments), not O(voxels). The scores equal
    :func:`~chunkflow.segmentation.evaluate_segmentation` of each segmentation.
    """
    import numpy as np

    from chunkflow.segmentation.agglomerate import _smallest_uint, waterz_buffers
    from chunkflow.segmentation.evaluate import RenumberedLabels, contingency_table, merge_columns, scores_from_table

    if ground_truth.bbox != affs.bbox:
        raise InvalidParameterError(
            f"ground truth at {ground_truth.bbox} and affinities at {affs.bbox} do not cover the same box; crop first"
        )
    if ground_truth.ndim != 3 or ground_truth.dtype.kind not in "ui":
        raise InvalidParameterError(f"ground truth must be 3D integer labels; got {ground_truth.dtype}")
    wanted = sorted({float(t) for t in thresholds})
    steps = wanted if fragments is not None else sorted({0.0, *wanted})  # threshold 0: the fragments
    prepared = RenumberedLabels.of(ground_truth.array)
    result = SweepResult(scoring=scoring)
    best: tuple[tuple[float, float, float], np.ndarray] | None = None
    table = representative = None
    for threshold, labels in waterz_buffers(affs, steps, aff_threshold_low, aff_threshold_high, scoring, fragments):
        if table is None:  # the first buffer: fragments, or already merged when fragments were given
            pieces = RenumberedLabels.of(labels)
            table = contingency_table(pieces, prepared)
            representative = np.empty(len(pieces.ids), dtype=np.int64)
            representative[pieces.labels.ravel()] = np.arange(pieces.labels.size)  # one voxel of each piece
        if threshold not in wanted:
            continue
        scores = scores_from_table(merge_columns(table, labels.ravel()[representative])).to_dict()
        row = {"threshold": threshold, **{k: float(scores[k]) for k in _COLUMNS}}  # type: ignore[arg-type]
        result.rows.append(row)
        rank = (row["adapted_rand_error"], row["variation_of_information"], threshold)
        if best is None or rank < best[0]:
            best = (rank, _smallest_uint(labels).copy())  # waterz overwrites its buffer at the next threshold
    assert best is not None
    result.best_threshold = best[0][2]
    return result, Chunk(best[1], affs.voxel_offset, affs.voxel_size, "segmentation")


def plot_sweep(result: SweepResult, path: str | Path, title: str = "") -> None:
    """ARE, VI split and VI merge against the threshold, the best threshold marked; a PNG at ``path``
    (a local path, gs:// or s3://)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    thresholds = [r["threshold"] for r in result.rows]
    figure = Figure(figsize=(7, 4.8), dpi=100)
    left = figure.add_subplot(1, 1, 1)
    left.plot(
        thresholds, [r["adapted_rand_error"] for r in result.rows], "o-", color="tab:red", label="adapted Rand error"
    )
    left.set_xlabel(f"agglomeration threshold ({result.scoring})")
    left.set_ylabel("adapted Rand error", color="tab:red")
    right = left.twinx()
    right.plot(thresholds, [r["voi_split"] for r in result.rows], "s--", color="tab:blue", label="VI split")
    right.plot(thresholds, [r["voi_merge"] for r in result.rows], "^--", color="tab:green", label="VI merge")
    right.set_ylabel("variation of information (bits)")
    best = result.best()
    left.axvline(best["threshold"], color="gray", linestyle=":")
    left.plot(
        [best["threshold"]],
        [best["adapted_rand_error"]],
        "*",
        color="black",
        markersize=16,
        label=f"best {best['threshold']:g} (ARE {best['adapted_rand_error']:.4f})",
    )
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    left.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small")
    left.set_title(title or "threshold sweep")
    figure.tight_layout()
    import io

    from chunkflow import files

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    files.write_bytes(str(path), buffer.getvalue(), content_type="image/png")


def write_sweep(result: SweepResult, directory: str | Path, name: str = "sweep") -> tuple[str, str]:
    """``<directory>/<name>.json`` (the table) and ``<name>.png`` (the plot); a local path, gs:// or s3://."""
    from chunkflow import files

    directory = str(directory).removeprefix("file://")
    table, figure = files.join(directory, f"{name}.json"), files.join(directory, f"{name}.png")
    plot_sweep(result, figure, title=name)
    files.write_bytes(table, json.dumps(result.to_dict(), indent=2).encode(), content_type="application/json")
    return table, figure
