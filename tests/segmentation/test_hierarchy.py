"""The hierarchical (bounded) merge against one union-find over the whole contact graph (issue 23.1)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from chunkflow.segmentation.hierarchy import (
    Summary,
    children,
    hierarchical_tables,
    leaf_endpoints,
    levels,
    linear_index,
    merge_node,
)
from chunkflow.segmentation.unionfind import merge_consecutive


def random_blocks(shape, seed, density):
    """Random local counts and contacts between face/edge/corner neighbours of a block grid."""
    rng = np.random.default_rng(seed)
    grid = list(itertools.product(*map(range, shape)))
    counts = {g: int(rng.integers(0, 8)) for g in grid}
    contacts = {}
    for g in grid:
        ends, ids = [], []
        for d in itertools.product((-1, 0, 1), repeat=3):
            h = tuple(a + b for a, b in zip(g, d))
            if d <= (0, 0, 0) or not all(0 <= h[i] < shape[i] for i in range(3)) or not counts[g] * counts[h]:
                continue
            for _ in range(rng.poisson(density)):
                ends.append((linear_index(shape, g), linear_index(shape, h)))
                ids.append((rng.integers(1, counts[g] + 1), rng.integers(1, counts[h] + 1)))
        contacts[g] = (np.array(ends, np.int64).reshape(-1, 2), np.array(ids, np.int64).reshape(-1, 2))
    return grid, counts, contacts


def whole_union_find(grid, counts, contacts):
    offsets = dict(zip(grid, np.cumsum([0] + [counts[g] for g in grid]).tolist()))
    joins = [
        (offsets[grid[a]] + x, offsets[grid[b]] + y)
        for ends, ids in contacts.values()
        for (a, b), (x, y) in zip(ends, ids)
    ]
    total = sum(counts.values())
    return merge_consecutive(total, np.array(joins, np.int64).reshape(-1, 2))


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 1, 1), (3, 5, 2), (4, 4, 4), (5, 3, 7), (1, 9, 1)])
@pytest.mark.parametrize("density", [0.15, 0.6, 2.0])
def test_same_partition_as_one_union_find_and_consecutive_ids(shape, density):
    grid, counts, contacts = random_blocks(shape, seed=hash((shape, density)) % 1000, density=density)
    tables = hierarchical_tables(shape, counts, contacts)
    ours = np.concatenate([tables[g][1:] for g in grid]).astype(np.int64)
    reference = whole_union_find(grid, counts, contacts)[1:].astype(np.int64)
    assert all(tables[g][0] == 0 and len(tables[g]) == counts[g] + 1 for g in grid)
    # consecutive 1..N, and a one-to-one contingency with the reference partition
    assert np.array_equal(np.unique(ours), np.arange(1, len(np.unique(reference)) + 1))
    pairs = np.unique(np.stack([reference, ours], axis=1), axis=0)
    assert len(pairs) == len(np.unique(reference)) == len(np.unique(ours))


def test_the_check_can_fail_when_one_contact_is_dropped():
    shape = (3, 3, 3)
    grid, counts, contacts = random_blocks(shape, seed=3, density=0.3)
    g = next(g for g in grid if len(contacts[g][0]))
    ends, ids = contacts[g]
    broken = {**contacts, g: (ends[1:], ids[1:])}
    ours = np.concatenate([t[1:] for t in hierarchical_tables(shape, counts, broken).values()])
    reference = whole_union_find(grid, counts, contacts)[1:]
    assert len(np.unique(ours)) > len(np.unique(reference))


def test_closed_components_do_not_travel_up():
    """Contacts only inside 2x2x2 groups: nothing is open above level 1, and each block's open ids
    are exactly the ids at the ends of its contacts."""
    shape = (4, 4, 4)
    grid, counts, contacts = random_blocks(shape, seed=5, density=1.0)
    inside = {}
    for g, (ends, ids) in contacts.items():
        keep = np.array([grid[a][i] // 2 == grid[b][i] // 2 for a, b in ends for i in range(3)], bool).reshape(-1, 3)
        keep = keep.all(axis=1) if len(ends) else np.zeros(0, bool)
        inside[g] = (ends[keep], ids[keep])
    lists = [(linear_index(shape, g), e, i) for g, (e, i) in inside.items()]
    leaves = {}
    for g in grid:
        keys, ids = leaf_endpoints(linear_index(shape, g), lists)
        merged = merge_node([Summary(counts[g], 0, keys, ids)])
        assert merged.summary.open_count == len(np.unique(ids))
        assert merged.summary.open_count + merged.closed_count == counts[g]
        leaves[g] = merged.summary
    totals = 0
    for node in itertools.product(range(2), repeat=3):
        up = merge_node([leaves[c] for c in children(shape, 1, node)])
        assert up.summary.open_count == 0 and len(up.summary.keys) == 0
        totals += up.summary.closed_total
    assert totals == len(np.unique(whole_union_find(grid, counts, inside)[1:]))
    assert levels(shape) == 2 and levels((1, 1, 1)) == 1 and levels((5, 1, 1)) == 3


def test_inconsistent_contact_lists_are_refused():
    key = np.array([7], np.int64)
    one = Summary(1, 0, key, np.array([1], np.int64))
    with pytest.raises(ValueError, match="more than twice"):
        merge_node([one, one, one])


@pytest.mark.slow
@pytest.mark.parametrize("core", [(16, 32, 32), (11, 40, 27), (32, 64, 50)])
def test_chunked_agglomerate_partition_equals_the_single_merge(affs, core):
    """Voxel level: the stitched segmentation through the bounded merge against today's one union-find."""
    from chunkflow.geometry import Vec3
    from chunkflow.segmentation.stitch import agglomerate_block, chunked_agglomerate, match_faces, merge_blocks

    crop = affs.cutout(affs.bbox.__class__(affs.bbox.start, affs.bbox.start + Vec3(32, 128, 128)))
    margin = Vec3(4, 8, 8)
    ours = chunked_agglomerate(crop, core, margin, 0.7).array.astype(np.int64)
    cores = crop.bbox.split(core)
    blocks = [agglomerate_block(crop.cutout(c.grow(margin).intersection(crop.bbox)), c, 0.7) for c in cores]
    index = {c.start: k for k, c in enumerate(cores)}
    pairs = []
    for k, c in enumerate(cores):
        for axis in range(3):
            step = [0, 0, 0]
            step[axis] = c.size[axis]
            j = index.get(c.start + Vec3.of(step))
            if j is not None:
                pairs.append((k, j, match_faces(blocks[k].faces[(axis, 1)], blocks[j].faces[(axis, -1)])))
    table = merge_blocks([b.count for b in blocks], pairs).astype(np.int64)
    offsets = np.cumsum([0] + [b.count for b in blocks])
    reference = np.zeros(crop.bbox.shape, np.int64)
    for k, c in enumerate(cores):
        lookup = table[offsets[k] : offsets[k] + blocks[k].count + 1].copy()
        lookup[0] = 0
        reference[c.slices(crop.bbox)] = lookup[blocks[k].labels]
    assert len(cores) >= 4 and reference.max() > 20
    pairs_seen = np.unique(np.stack([reference.ravel(), ours.ravel()], 1), axis=0)
    assert len(pairs_seen) == len(np.unique(reference)) == len(np.unique(ours))
    assert np.array_equal(np.unique(ours), np.arange(ours.max() + 1))


def test_a_contact_whose_other_end_is_never_listed_is_refused():
    shape = (3, 1, 1)
    counts = {(0, 0, 0): 2, (1, 0, 0): 2, (2, 0, 0): 2}
    far = (np.array([[0, 2]], np.int64), np.array([[1, 1]], np.int64))  # blocks 0 and 2 do not touch
    none = (np.zeros((0, 2), np.int64), np.zeros((0, 2), np.int64))
    with pytest.raises(ValueError, match="no contact list"):
        hierarchical_tables(shape, counts, {(0, 0, 0): far, (1, 0, 0): none, (2, 0, 0): none})


def test_apply_table_into_the_output_dtype():
    from chunkflow.segmentation.hierarchy import apply_table

    labels = np.random.default_rng(0).integers(0, 6, (4, 5, 6)).astype(np.uint32)
    table = np.array([0, 9, 9, 3, 2**31, 7], np.int64)
    expected = table[labels]
    out = apply_table(labels, table)
    assert out.dtype == np.uint32 and np.array_equal(out, expected)
    original = labels.copy()
    wide = apply_table(labels, table, np.uint64)
    assert wide.dtype == np.uint64 and np.array_equal(wide, expected)
    assert np.array_equal(labels, original)
