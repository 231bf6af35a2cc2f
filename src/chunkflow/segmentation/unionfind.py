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
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if count == 0:
        return np.zeros(1, np.uint32)
    graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0] - 1, pairs[:, 1] - 1)), shape=(count, count))
    n_components, component = connected_components(graph, directed=False)
    first = np.full(n_components, count, dtype=np.int64)
    np.minimum.at(first, component, np.arange(count))
    rank = np.empty(n_components, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, n_components + 1)
    dtype = np.uint32 if n_components < 2**32 else np.uint64
    table = np.zeros(count + 1, dtype=dtype)
    table[1:] = rank[component]
    return table


def lookup_relabel(labels: np.ndarray, table: np.ndarray, offset: int, count: int) -> np.ndarray:
    """Map a block's local ids ``0..count`` to global ids: ``table[offset + i]`` (0 stays 0).

    ``table`` is :func:`merge_consecutive`'s; ``offset`` is the sum of the earlier blocks' counts.
    """
    lookup = np.array(table[offset : offset + count + 1], copy=True)
    lookup[0] = 0
    return lookup[labels]
