"""A vectorised union-find over label pairs (scipy's connected components on the pair graph)."""

from __future__ import annotations

import numpy as np

__all__ = ["merge_pairs", "merge_consecutive", "lookup_relabel"]


def merge_pairs(labels: np.ndarray, pairs: np.ndarray) -> dict[int, int]:
    """Map every label to a representative so that labels joined by ``pairs`` share one.

    Parameters
    ----------
    labels : ndarray, (N,), every label that exists (0 excluded)
    pairs : ndarray, (M, 2), labels to join

    Returns
    -------
    dict mapping each label to a consecutive id from 1; joined labels map to the same id.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    labels = np.unique(np.asarray(labels, dtype=np.uint64))
    labels = labels[labels != 0]
    if pairs.size:
        pairs = np.asarray(pairs, dtype=np.uint64).reshape(-1, 2)
        pairs = pairs[(pairs != 0).all(axis=1)]
    index_a = np.searchsorted(labels, pairs[:, 0]) if pairs.size else np.zeros(0, np.int64)
    index_b = np.searchsorted(labels, pairs[:, 1]) if pairs.size else np.zeros(0, np.int64)
    n = len(labels)
    graph = coo_matrix((np.ones(len(index_a), np.int8), (index_a, index_b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    # consecutive ids in order of each component's smallest label: deterministic
    first = np.full(component.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, component, np.arange(n))
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(1, len(order) + 1)
    return dict(zip(labels.tolist(), rank[component].tolist()))


def merge_consecutive(count: int, pairs: np.ndarray) -> np.ndarray:
    """Union-find over the labels ``1..count`` joined by ``pairs``, as a lookup table.

    Parameters
    ----------
    count : number of labels (labels are ``1..count``)
    pairs : ndarray, (M, 2), int, labels to join

    Returns
    -------
    table : ndarray, (count + 1,), uint32 (uint64 past 2**32 - 1 components); ``table[0] == 0``
        and ``table[i]`` is label i's component, consecutive from 1 in order of each component's
        smallest label (deterministic).
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    parent = np.arange(count + 1, dtype=np.int64)
    a, b = pairs[:, 0], pairs[:, 1]
    # hook every edge's larger root under its smaller root, then jump pointers to the roots; each
    # round at least halves the longest path, so a few rounds suffice (plain numpy: no scipy import)
    while True:
        root_a, root_b = parent[a], parent[b]
        differ = root_a != root_b
        if not differ.any():
            break
        root_a, root_b = root_a[differ], root_b[differ]
        np.minimum.at(parent, np.maximum(root_a, root_b), np.minimum(root_a, root_b))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        a, b = a[differ], b[differ]
    # a root is its component's smallest label: rank the roots in order
    is_root = parent == np.arange(count + 1)
    rank = np.cumsum(is_root) - 1  # label 0 is its own root: rank 0
    n_components = int(rank[-1]) if count else 0
    dtype = np.uint32 if n_components < 2**32 else np.uint64
    return rank[parent].astype(dtype)


def lookup_relabel(labels: np.ndarray, table: np.ndarray, offset: int, count: int) -> np.ndarray:
    """Map a block's local ids ``0..count`` to global ids: ``table[offset + i]`` (0 stays 0).

    ``table`` is :func:`merge_consecutive`'s; ``offset`` is the sum of the earlier blocks' counts.
    """
    lookup = np.array(table[offset : offset + count + 1], copy=True)
    lookup[0] = 0
    return lookup[labels]
