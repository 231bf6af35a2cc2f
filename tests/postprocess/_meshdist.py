"""Exact vertex-to-surface distances between triangle meshes (no trimesh needed)."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def _point_triangle_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance from points p (N, 3) to triangles (a, b, c) (N, 3 each), Ericson's closest-point test."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(1), (ac * ap).sum(1)
    bp = p - b
    d3, d4 = (ab * bp).sum(1), (ac * bp).sum(1)
    cp = p - c
    d5, d6 = (ab * cp).sum(1), (ac * cp).sum(1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v, w = vb / denom, vc / denom
        closest = a + ab * v[:, None] + ac * w[:, None]
        # regions outside the triangle: clamp to edges / corners
        t_ab = np.clip(d1 / (d1 - d3), 0, 1)
        t_ac = np.clip(d2 / (d2 - d6), 0, 1)
        t_bc = np.clip((d4 - d3) / ((d4 - d3) + (d5 - d6)), 0, 1)
    inside = (va >= 0) & (vb >= 0) & (vc >= 0) & np.isfinite(v) & np.isfinite(w)
    edges = np.stack(
        [
            np.linalg.norm(p - (a + ab * np.nan_to_num(t_ab)[:, None]), axis=1),
            np.linalg.norm(p - (a + ac * np.nan_to_num(t_ac)[:, None]), axis=1),
            np.linalg.norm(p - (b + (c - b) * np.nan_to_num(t_bc)[:, None]), axis=1),
        ]
    )
    return np.where(inside, np.linalg.norm(p - closest, axis=1), edges.min(0))


def vertex_to_surface(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, k: int = 24) -> np.ndarray:
    """Distance from every point to the surface (vertices, faces), checking the k triangles with the
    nearest centroids (exact where k covers every triangle that can be nearest)."""
    tri = vertices[faces].astype(np.float64)
    k = min(k, len(faces))
    _, nearest = cKDTree(tri.mean(axis=1)).query(points, k=k)
    nearest = nearest.reshape(len(points), -1)
    points = points.astype(np.float64)
    best = np.empty(len(points))
    step = max(1, 2_000_000 // k)  # point-triangle pairs per batch
    for start in range(0, len(points), step):
        p = np.repeat(points[start : start + step], k, axis=0)
        t = tri[nearest[start : start + step].reshape(-1)]
        best[start : start + step] = _point_triangle_distance(p, t[:, 0], t[:, 1], t[:, 2]).reshape(-1, k).min(1)
    return best
