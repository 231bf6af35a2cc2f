"""Expected run length (ERL) and skeleton split/merge counts of a segmentation.

Definitions follow funlib.evaluate's ``expected_run_length`` (funkelab) and em_erl's
``compute_erl_score`` (PytorchConnectomics), re-implemented over arrays:

- Every skeleton node takes the segment id under it. An edge is *correct* when both of its nodes
  are in the same non-zero segment, a *split* edge when they are in two different non-zero segments
  and *omitted* when either node is in segment 0.
- A segment *merges* skeletons when at least two skeletons each have ``merge_threshold`` or more
  nodes in it (em_erl's ``merge_threshold``; 1 = funlib). Every skeleton with ``merge_threshold``
  or more nodes in a merging segment is *merged* and its run length is 0.
- The run length of a skeleton of path length ``L`` that is not merged is ``sum_s c_s**2 / L``,
  ``c_s`` the length of its correct edges in segment ``s``; ERL is the length-weighted mean of
  those: ``sum_k L_k * erl_k / sum_k L_k``. A perfect segmentation has ERL ``sum L**2 / sum L``,
  the skeletons' length-weighted mean path length (``gt_erl``); ``normalized_erl = erl / gt_erl``
  (NISB's normalised ERL).

One deliberate difference from both packages: segment 0 (background) never merges skeletons;
nodes in 0 make their edges omitted instead, as funlib does for edges.

Per skeleton, ``splits`` is the number of non-zero segments its nodes fall in, minus one (one
injected cut = one split however often the skeleton crosses it); ``split_edges`` is funlib's
count of split edges. ``merges`` (the total) counts, per merging segment, its skeletons minus one.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError

__all__ = ["Skeletons", "ERLResult", "expected_run_length"]


@dataclass(frozen=True)
class Skeletons:
    """Ground-truth skeletons as one graph.

    Attributes
    ----------
    ids : ndarray, (K,) uint64
        Skeleton (object) ids.
    vertices : ndarray, (N, 3) float64
        Node positions in nanometres, Z Y X, global (voxel index times voxel size).
    owner : ndarray, (N,) int64
        Index into ``ids`` of each node's skeleton.
    edges : ndarray, (M, 2) int64
        Pairs of node indices; both nodes of an edge belong to the same skeleton.
    """

    ids: np.ndarray
    vertices: np.ndarray
    owner: np.ndarray
    edges: np.ndarray

    @classmethod
    def from_parts(cls, parts: list[tuple[int, np.ndarray, np.ndarray]]) -> Skeletons:
        """From ``(id, vertices (n, 3) nm ZYX, edges (m, 2))`` per skeleton."""
        ids = np.array([p[0] for p in parts], dtype=np.uint64)
        if len(np.unique(ids)) != len(ids):
            raise InvalidParameterError("skeleton ids must be unique; merge the skeletons of one object first")
        counts = [len(p[1]) for p in parts]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if parts else np.zeros(0, np.int64)
        vertices = (
            np.concatenate([np.asarray(p[1], np.float64).reshape(-1, 3) for p in parts]) if parts else np.zeros((0, 3))
        )
        owner = np.repeat(np.arange(len(parts), dtype=np.int64), counts)
        edges = [np.asarray(p[2], np.int64).reshape(-1, 2) + s for p, s in zip(parts, starts)]
        edge_array = np.concatenate(edges) if edges else np.zeros((0, 2), np.int64)
        return cls(ids, vertices, owner, edge_array)

    def edge_lengths(self) -> np.ndarray:
        """Euclidean length of every edge, nanometres."""
        delta = self.vertices[self.edges[:, 0]] - self.vertices[self.edges[:, 1]]
        return np.sqrt((delta * delta).sum(axis=1))

    def path_lengths(self) -> np.ndarray:
        """Total edge length of every skeleton, (K,) nanometres."""
        return np.bincount(self.owner[self.edges[:, 0]], weights=self.edge_lengths(), minlength=len(self.ids))


@dataclass
class ERLResult:
    erl: float
    gt_erl: float
    normalized_erl: float
    total_path_length: float
    skeletons: int
    splits: int
    merges: int
    split_edges: int
    omitted_edges: int
    merged_skeletons: int
    dropped_nodes: int
    objects: list[dict[str, object]] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """Everything but the per-object rows."""
        return {k: v for k, v in self.__dict__.items() if k != "objects"}

    def to_dict(self) -> dict[str, object]:
        return {**self.summary(), "objects": self.objects}

    def to_csv(self) -> str:
        """One row per skeleton; ``merged_into`` ids joined by spaces."""
        out = io.StringIO()
        columns = ["object_id", "path_length", "erl", "nodes", "edges", "segments", "splits", "split_edges",
                   "omitted_edges", "merged_into", "merged_with"]  # fmt: skip
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        for row in self.objects:
            writer.writerow(
                {
                    **row,
                    "merged_into": " ".join(map(str, row["merged_into"])),  # type: ignore[call-overload]
                    "merged_with": " ".join(map(str, row["merged_with"])),  # type: ignore[call-overload]
                }
            )
        return out.getvalue()


def _node_segments(skeletons: Skeletons, segmentation: Chunk) -> tuple[np.ndarray, np.ndarray]:
    """Segment id under every node, and which nodes lie inside the chunk."""
    voxel = np.rint(skeletons.vertices / np.asarray(segmentation.voxel_size, np.float64)).astype(np.int64)
    voxel -= np.asarray(segmentation.voxel_offset, np.int64)
    inside = np.all((voxel >= 0) & (voxel < np.asarray(segmentation.shape, np.int64)), axis=1)
    segment = np.zeros(len(voxel), dtype=np.uint64)
    zyx = voxel[inside]
    segment[inside] = segmentation.array[zyx[:, 0], zyx[:, 1], zyx[:, 2]]
    return segment, inside


def expected_run_length(skeletons: Skeletons, segmentation: Chunk, merge_threshold: int = 1) -> ERLResult:
    """ERL, normalised ERL, split/merge counts and per-object rows of ``segmentation``.

    Parameters
    ----------
    skeletons : Skeletons
        Ground truth; vertices in nanometres (global). Nodes outside the chunk are dropped with
        their edges, so lengths are those of the skeletons inside the evaluated box.
    segmentation : Chunk, (Z, Y, X) integer labels
    merge_threshold : int
        Nodes a skeleton needs in a segment for that segment to count as merging it.
    """
    if segmentation.ndim != 3 or segmentation.dtype.kind not in "ui":
        raise IncompatibleChunkError(
            f"ERL needs 3D integer labels; got {segmentation.dtype} with shape {segmentation.shape}"
        )
    if merge_threshold < 1:
        raise InvalidParameterError(f"merge threshold {merge_threshold} must be at least 1 node")
    segment, inside = _node_segments(skeletons, segmentation)
    edges = skeletons.edges[inside[skeletons.edges[:, 0]] & inside[skeletons.edges[:, 1]]]
    lengths = Skeletons(skeletons.ids, skeletons.vertices, skeletons.owner, edges).edge_lengths()
    k = len(skeletons.ids)
    edge_owner = skeletons.owner[edges[:, 0]]
    path = np.bincount(edge_owner, weights=lengths, minlength=k)

    # (skeleton, segment) pairs over nodes inside the box
    seg_ids, seg_index = np.unique(segment, return_inverse=True)
    n_seg = len(seg_ids)
    node_key = skeletons.owner * n_seg + seg_index
    pair_key, pair_count = np.unique(node_key[inside], return_counts=True)
    pair_skel, pair_seg = np.divmod(pair_key, n_seg)
    nonzero = seg_ids[pair_seg] != 0
    segments_per_skel = np.bincount(pair_skel[nonzero], minlength=k)
    big = nonzero & (pair_count >= merge_threshold)
    skels_per_seg = np.bincount(pair_seg[big], minlength=n_seg)
    merging = skels_per_seg >= 2
    merged_pair = big & merging[pair_seg]
    merged = np.zeros(k, dtype=bool)
    merged[pair_skel[merged_pair]] = True

    # correct edge length per (skeleton, segment)
    su, sv = seg_index[edges[:, 0]], seg_index[edges[:, 1]]
    zero = seg_ids[su] == 0
    zero |= seg_ids[sv] == 0
    correct = (su == sv) & ~zero
    split_edge = (su != sv) & ~zero
    correct_key = edge_owner[correct] * n_seg + su[correct]
    keys, where = np.unique(correct_key, return_inverse=True)
    c = np.bincount(where, weights=lengths[correct], minlength=len(keys))
    per_skel = np.bincount(keys // n_seg, weights=c * c, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        skel_erl = np.where(path > 0, per_skel / np.where(path > 0, path, 1), 0.0)
    skel_erl[merged] = 0.0
    total = float(path.sum())
    erl = float((path * skel_erl).sum() / total) if total else 0.0
    gt_erl = float((path * path).sum() / total) if total else 0.0
    rows = _rows(
        skeletons,
        path,
        skel_erl,
        inside,
        edge_owner,
        split_edge,
        zero,
        segments_per_skel,
        (pair_skel[merged_pair], seg_ids[pair_seg[merged_pair]]),
    )
    return ERLResult(
        erl=erl,
        gt_erl=gt_erl,
        normalized_erl=erl / gt_erl if gt_erl else 0.0,
        total_path_length=total,
        skeletons=int((path > 0).sum()),
        splits=int(np.maximum(segments_per_skel - 1, 0).sum()),
        merges=int((skels_per_seg[merging] - 1).sum()),
        split_edges=int(split_edge.sum()),
        omitted_edges=int(zero.sum()),
        merged_skeletons=int(merged.sum()),
        dropped_nodes=int((~inside).sum()),
        objects=rows,
    )


def _rows(
    skeletons: Skeletons,
    path: np.ndarray,
    skel_erl: np.ndarray,
    inside: np.ndarray,
    edge_owner: np.ndarray,
    split_edge: np.ndarray,
    zero: np.ndarray,
    segments_per_skel: np.ndarray,
    merged_pairs: tuple[np.ndarray, np.ndarray],
) -> list[dict[str, object]]:
    k = len(skeletons.ids)
    nodes = np.bincount(skeletons.owner[inside], minlength=k)
    n_edges = np.bincount(edge_owner, minlength=k)
    n_split = np.bincount(edge_owner[split_edge], minlength=k)
    n_zero = np.bincount(edge_owner[zero], minlength=k)
    into: dict[int, list[int]] = {}
    members: dict[int, list[int]] = {}
    for skel, seg in zip(*merged_pairs):
        into.setdefault(int(skel), []).append(int(seg))
        members.setdefault(int(seg), []).append(int(skeletons.ids[skel]))
    rows = []
    for i in np.flatnonzero(path > 0):
        mine = int(skeletons.ids[i])
        segs = sorted(into.get(int(i), []))
        others = sorted({o for s in segs for o in members[s] if o != mine})
        rows.append(
            {
                "object_id": mine,
                "path_length": float(path[i]),
                "erl": float(skel_erl[i]),
                "nodes": int(nodes[i]),
                "edges": int(n_edges[i]),
                "segments": int(segments_per_skel[i]),
                "splits": max(int(segments_per_skel[i]) - 1, 0),
                "split_edges": int(n_split[i]),
                "omitted_edges": int(n_zero[i]),
                "merged_into": segs,
                "merged_with": others,
            }
        )
    return rows
