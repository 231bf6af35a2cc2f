"""ERL and skeleton split/merge counts: hand-built skeletons of known length, a transcription of
funlib.evaluate's loops as the reference, and real neurons with injected splits and merges."""

from __future__ import annotations

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.segmentation.erl import Skeletons, expected_run_length


def painted(shape, skeletons: Skeletons, labels, voxel_size=(1, 1, 1)) -> Chunk:
    """A segmentation holding ``labels[i]`` under node ``i`` (and 0 elsewhere)."""
    seg = np.zeros(shape, dtype=np.uint32)
    zyx = np.rint(skeletons.vertices / np.asarray(voxel_size)).astype(int)
    seg[zyx[:, 0], zyx[:, 1], zyx[:, 2]] = labels
    return Chunk(seg, (0, 0, 0), voxel_size, "segmentation")


def path(points) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(points, dtype=np.float64)
    return points, np.stack([np.arange(len(points) - 1), np.arange(1, len(points))], axis=1)


def straight(obj=1, n=11, y=0):
    vertices, edges = path([(0, y, x) for x in range(n)])
    return obj, vertices, edges


def test_straight_path_split_once():
    sk = Skeletons.from_parts([straight()])  # 10 edges of 1: L = 10
    assert expected_run_length(sk, painted((1, 1, 11), sk, [5] * 11)).erl == pytest.approx(10.0, abs=1e-9)
    result = expected_run_length(sk, painted((1, 1, 11), sk, [5] * 5 + [6] * 6))
    # pieces of 4 and 5, one split edge: (4^2 + 5^2) / 10
    assert abs(result.erl - 4.1) < 1e-9
    assert abs(result.gt_erl - 10.0) < 1e-9 and abs(result.normalized_erl - 0.41) < 1e-9
    assert (result.splits, result.split_edges, result.merges) == (1, 1, 0)
    assert result.objects[0]["splits"] == 1 and result.objects[0]["segments"] == 2


def test_branched_skeleton_with_exact_diagonal_lengths():
    # a Y: 5 (one 3-4-5 diagonal edge), 2 (two unit edges), 7 (one edge); L = 14
    vertices = np.array([(0, 5, 8), (0, 8, 12), (0, 4, 8), (0, 3, 8), (0, 5, 1)], dtype=float)
    edges = np.array([(0, 1), (0, 2), (2, 3), (0, 4)])
    sk = Skeletons.from_parts([(7, vertices, edges)])
    assert sk.path_lengths()[0] == pytest.approx(14.0, abs=1e-12)
    whole = expected_run_length(sk, painted((1, 10, 13), sk, [1, 1, 1, 1, 1]))
    assert abs(whole.erl - 14.0) < 1e-9
    cut = expected_run_length(sk, painted((1, 10, 13), sk, [1, 1, 1, 1, 2]))  # the 7 is a split edge
    assert abs(cut.erl - 49 / 14) < 1e-9
    three = expected_run_length(sk, painted((1, 10, 13), sk, [1, 2, 1, 1, 3]))  # only the 2 stays correct
    assert abs(three.erl - 4 / 14) < 1e-9 and three.splits == 2 and three.split_edges == 2


def test_merge_zeroes_both_and_threshold():
    a, b = straight(1, 11, y=0), straight(2, 5, y=2)  # L = 10 and 4
    sk = Skeletons.from_parts([a, b])
    perfect = expected_run_length(sk, painted((1, 3, 11), sk, [10] * 11 + [20] * 5))
    assert abs(perfect.erl - (100 + 16) / 14) < 1e-9 and perfect.merges == 0
    merged = expected_run_length(sk, painted((1, 3, 11), sk, [10] * 11 + [10] * 5))
    assert merged.erl == 0.0 and merged.merges == 1 and merged.merged_skeletons == 2
    assert [r["merged_into"] for r in merged.objects] == [[10], [10]]
    assert [r["merged_with"] for r in merged.objects] == [[2], [1]]
    # skeleton 2 has one node in 10: a merge at threshold 1, not at 2 (em_erl's merge_threshold)
    touch = painted((1, 3, 11), sk, [10] * 11 + [10] + [20] * 4)
    assert expected_run_length(sk, touch).merges == 1
    loose = expected_run_length(sk, touch, merge_threshold=2)
    assert loose.merges == 0 and abs(loose.erl - (100 + 9) / 14) < 1e-9  # skeleton 2 keeps 3 of its 4
    assert loose.objects[1]["split_edges"] == 1


def test_background_nodes_are_omitted_not_merged():
    sk = Skeletons.from_parts([straight(1, 11, y=0), straight(2, 11, y=2)])
    labels = [1] * 11 + [2] * 11
    labels[3] = labels[14] = 0  # one node of each in background: no merge through 0
    result = expected_run_length(sk, painted((1, 3, 11), sk, labels))
    assert result.merges == 0 and result.omitted_edges == 4
    # correct pieces of 2 and 6 in the same segment count together (funlib): (2 + 6)^2 / 10 each
    assert abs(result.erl - 6.4) < 1e-9 and result.splits == 0


def test_anisotropic_voxels_and_nodes_outside_the_chunk():
    vertices, edges = path([(z * 40.0, 8.0, 8.0) for z in range(6)])  # 5 edges of 40 nm
    sk = Skeletons.from_parts([(3, vertices, edges)])
    seg = np.ones((4, 4, 4), dtype=np.uint64)  # sections 0..3: nodes 4 and 5 are outside
    result = expected_run_length(sk, Chunk(seg, (0, 0, 0), (40, 4, 4), "segmentation"))
    assert abs(result.total_path_length - 120.0) < 1e-9 and result.dropped_nodes == 2
    assert abs(result.erl - 120.0) < 1e-9


def funlib_reference(sk: Skeletons, seg: Chunk) -> float:
    """funlib.evaluate.expected_run_length's loops, transcribed (segment 0 never merges)."""
    zyx = np.rint(sk.vertices / np.asarray(seg.voxel_size)).astype(int)
    lut = {n: int(seg.array[tuple(p)]) for n, p in enumerate(zyx)}
    pairs = {(int(sk.owner[n]), s) for n, s in lut.items() if s != 0}
    per_segment: dict[int, set] = {}
    for skel, s in pairs:
        per_segment.setdefault(s, set()).add(skel)
    merged = {k for members in per_segment.values() if len(members) > 1 for k in members}
    lengths = sk.edge_lengths()
    total_by_skel: dict[int, float] = {}
    correct: dict[int, dict[int, float]] = {}
    for (u, v), length in zip(sk.edges, lengths):
        k = int(sk.owner[u])
        total_by_skel[k] = total_by_skel.get(k, 0.0) + length
        if k in merged or lut[u] == 0 or lut[v] == 0 or lut[u] != lut[v]:
            continue
        correct.setdefault(k, {}).setdefault(lut[u], 0.0)
        correct[k][lut[u]] += length
    total = sum(total_by_skel.values())
    erl = 0.0
    for k, length in total_by_skel.items():
        skel_erl = sum(c * c / length for c in correct.get(k, {}).values())
        erl += length / total * skel_erl
    return erl


@pytest.mark.parametrize("seed", range(5))
def test_equals_funlib_on_random_trees(seed):
    rng = np.random.default_rng(seed)
    parts, used = [], set()
    for obj in range(1, 7):
        n = int(rng.integers(2, 30))
        points = []
        while len(points) < n:
            p = tuple(int(v) for v in rng.integers(0, [6, 20, 20]))
            if p not in used:
                used.add(p)
                points.append(p)
        parents = [int(rng.integers(0, i)) for i in range(1, n)]  # a random tree
        parts.append((obj * 11, np.array(points, float) * (40, 4, 4), np.array(list(zip(parents, range(1, n))))))
    sk = Skeletons.from_parts(parts)
    owner_labels = (sk.owner + 1) * 3 + rng.integers(0, 2, size=len(sk.owner)) * (rng.random(len(sk.owner)) < 0.15)
    owner_labels[rng.random(len(owner_labels)) < 0.05] = 0
    owner_labels[rng.random(len(owner_labels)) < 0.05] = 3  # stray nodes in skeleton 0's segment: merges
    seg = painted((6, 20, 20), sk, owner_labels, voxel_size=(40, 4, 4))
    assert abs(expected_run_length(sk, seg).erl - funlib_reference(sk, seg)) < 1e-9


def test_bad_inputs():
    sk = Skeletons.from_parts([straight()])
    with pytest.raises(IncompatibleChunkError, match="integer labels"):
        expected_run_length(sk, Chunk(np.zeros((1, 1, 11), np.float32)))
    with pytest.raises(InvalidParameterError, match="merge threshold"):
        expected_run_length(sk, painted((1, 1, 11), sk, [1] * 11), merge_threshold=0)
    with pytest.raises(InvalidParameterError, match="unique"):
        Skeletons.from_parts([straight(1), straight(1)])


@pytest.fixture(scope="module")
def crop(labels):
    """32 sections of the real neurons (kimimaro on the whole fixture takes too long for a unit test)."""
    return labels.with_array(np.ascontiguousarray(labels.array[:32]))


@pytest.fixture(scope="module")
def gt_skeletons(crop):
    from chunkflow.segmentation.skeletons import skeletons_from_labels

    return skeletons_from_labels(crop, dust_threshold=500)


def test_pinky40_perfect_and_injected_errors(crop, gt_skeletons):
    labels = crop
    sk = gt_skeletons
    lengths = sk.path_lengths()
    assert len(sk.ids) >= 10
    perfect = expected_run_length(sk, labels)
    assert abs(perfect.erl - (lengths**2).sum() / lengths.sum()) < 1e-9 * perfect.erl
    assert perfect.normalized_erl == pytest.approx(1.0, abs=1e-12)
    assert (perfect.splits, perfect.merges, perfect.split_edges, perfect.omitted_edges) == (0, 0, 0, 0)

    zyx = np.rint(sk.vertices / np.asarray(labels.voxel_size)).astype(int) - np.asarray(labels.voxel_offset)
    seg = labels.array.copy()
    new_id = int(seg.max()) + 1
    order = [i for i in np.argsort(lengths)[::-1] if np.ptp(zyx[sk.owner == i, 0]) >= 2]
    to_split, to_merge = order[:3], order[3:7]
    for i in to_split:  # a plane through the middle of the skeleton's z range: one more segment
        z = zyx[sk.owner == i, 0]
        cut = (z.min() + z.max()) // 2
        seg[cut + 1 :][seg[cut + 1 :] == sk.ids[i]] = new_id
        new_id += 1
    pairs = [(to_merge[0], to_merge[1]), (to_merge[2], to_merge[3])]
    for a, b in pairs:
        seg[seg == sk.ids[b]] = sk.ids[a]
    result = expected_run_length(sk, labels.with_array(seg))
    rows = {r["object_id"]: r for r in result.objects}
    assert {obj for obj, r in rows.items() if r["splits"]} == {int(sk.ids[i]) for i in to_split}
    assert all(rows[int(sk.ids[i])]["splits"] == 1 for i in to_split)
    assert result.splits == 3 and result.merges == 2 and result.merged_skeletons == 4
    for a, b in pairs:
        ida, idb = int(sk.ids[a]), int(sk.ids[b])
        assert rows[ida]["merged_into"] == [ida] == rows[idb]["merged_into"]
        assert rows[ida]["merged_with"] == [idb] and rows[ida]["erl"] == 0.0
    assert result.erl < perfect.erl


def test_loaders_read_what_skeletonize_writes(tmp_path, crop, gt_skeletons):
    labels = crop
    from cloudvolume import Skeleton

    from chunkflow import files
    from chunkflow.postprocess.skeleton import skeleton_dir
    from chunkflow.segmentation.skeletons import load_skeletons

    volume = tmp_path / "seg"  # the layout skeletonize + aggregate-skeleton-fragments write
    directory = skeleton_dir(str(volume))
    for i, obj in enumerate(gt_skeletons.ids):
        mine = gt_skeletons.owner == i
        index = np.flatnonzero(mine)
        edges = gt_skeletons.edges[np.isin(gt_skeletons.edges[:, 0], index)] - index[0]
        xyz = gt_skeletons.vertices[mine][:, ::-1].astype(np.float32)
        files.write_bytes(files.join(directory, str(obj)), Skeleton(xyz, edges, segid=int(obj)).to_precomputed())
    loaded = load_skeletons(f"file://{volume}")
    assert list(loaded.ids) == list(gt_skeletons.ids)
    assert np.allclose(loaded.path_lengths(), gt_skeletons.path_lengths(), rtol=1e-6)
    ours = expected_run_length(gt_skeletons, labels).erl
    assert expected_run_length(loaded, labels).erl == pytest.approx(ours, rel=1e-6)
    # the same skeletons as SWC (X Y Z nm), one file per object
    swc = tmp_path / "swc"
    swc.mkdir()
    for i, obj in enumerate(gt_skeletons.ids):
        mine = gt_skeletons.owner == i
        index = np.flatnonzero(mine)
        edges = gt_skeletons.edges[np.isin(gt_skeletons.edges[:, 0], index)] - index[0]
        xyz = gt_skeletons.vertices[mine][:, ::-1]
        (swc / f"{obj}.swc").write_text(Skeleton(xyz, edges, segid=int(obj)).to_swc())
    from_swc = load_skeletons(swc)
    assert list(from_swc.ids) == list(gt_skeletons.ids)
    assert expected_run_length(from_swc, labels).erl == pytest.approx(ours, rel=1e-6)


def test_loader_errors(tmp_path):
    from chunkflow.errors import VolumeNotFoundError
    from chunkflow.segmentation.skeletons import load_skeletons

    with pytest.raises(VolumeNotFoundError, match="not found"):
        load_skeletons(tmp_path / "missing")
    with pytest.raises(VolumeNotFoundError, match="no skeletons"):
        load_skeletons(tmp_path)
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InvalidParameterError, match="not an .swc"):
        load_skeletons(tmp_path / "a.txt")
