"""The bounded merge as stages: ``up-1 .. up-H``, ``down-H .. down-1`` (:mod:`chunkflow.segmentation.hierarchy`).

A job that mixes in :class:`HierarchicalMerge` writes, in a per-block stage before these, one
contacts file per block (:meth:`HierarchicalMerge.save_contacts`): the block's local id count and the
contacts it owns (``ends`` (K, 2) block indices, ``ids`` (K, 2) local ids). After ``down-1`` each
block's table local id -> global id is ``tables/<block>.npz`` (:meth:`HierarchicalMerge.block_table`),
the only merge file a relabel task reads.

A level-``L`` task's box is the union of its node's blocks; its inputs are its children's summaries
(up) or its parent's values (down): ids on its region's faces, never the whole volume's.

Work files: ``contacts/<block>.npz``; ``up/<L>/<node>.npz`` (summary, read by the parent);
``maps/<L>/<node>.npz`` (child maps, read by the node's own down task); ``down/<L>/<node>.npz``
(offset and open ids' global ids, from the parent); ``tables/<block>.npz``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.jobs.staged import Stage

__all__ = ["HierarchicalMerge"]


class HierarchicalMerge:
    """Mixin for a :class:`chunkflow.jobs.staged.StagedJob` (uses its geometry and work-file helpers).

    ``contact_reach``: (low, high) blocks between a contact's owner and its ends along any axis.
    """

    contact_reach: tuple[int, int] = (1, 0)
    #: the stage that writes the contacts files (named in messages about damaged files)
    contacts_stage: str = "match"

    if TYPE_CHECKING:  # provided by the host StagedJob
        bbox: BoundingBox
        block_size: Vec3
        _cache: dict[str, Any]

        def save_arrays(self, name: str, **arrays: np.ndarray) -> None: ...
        def load_arrays(self, name: str, stage: str | None = None, keys: Any = ()) -> dict[str, np.ndarray]: ...
        def grid_shape(self) -> Vec3: ...
        def work_url(self, *parts: str) -> str: ...

    # ---- geometry of the tree -------------------------------------------------------------------
    @property
    def height(self) -> int:
        from chunkflow.segmentation.hierarchy import levels

        return levels(tuple(self.grid_shape()))

    def node_box(self, level: int, node: tuple[int, int, int]) -> BoundingBox:
        size = self.block_size * (2**level)
        start = self.bbox.start + Vec3.of(node) * size
        return BoundingBox(start, (start + size).minimum(self.bbox.stop))

    def node_of(self, level: int, box: BoundingBox) -> tuple[int, int, int]:
        g = (box.start - self.bbox.start) // (self.block_size * (2**level))
        return (int(g[0]), int(g[1]), int(g[2]))

    def node_boxes(self, level: int) -> list[BoundingBox]:
        from chunkflow.segmentation.hierarchy import nodes

        return [self.node_box(level, g) for g in nodes(tuple(self.grid_shape()), level)]

    def is_node(self, level: int, box: BoundingBox | None) -> bool:
        if box is None or not self.bbox.contains(box):
            return False
        size = self.block_size * 2**level
        if any((s - o) % n for s, o, n in zip(box.start, self.bbox.start, size)):
            return False
        return self.node_box(level, self.node_of(level, box)) == box

    def merge_stages(self) -> list[Stage]:
        """``up-1 .. up-H`` then ``down-H .. down-1``."""
        height = self.height
        up = [
            Stage(
                f"up-{level}",
                partial(self._up, level),
                partial(self.node_boxes, level),
                partial(self.is_node, level),
                family="up",
            )
            for level in range(1, height + 1)
        ]
        down = [
            Stage(
                f"down-{level}",
                partial(self._down, level),
                partial(self.node_boxes, level),
                partial(self.is_node, level),
                family="down",
            )
            for level in range(height, 0, -1)
        ]
        return up + down

    # ---- files ------------------------------------------------------------------------------------
    def _index(self, g: tuple[int, int, int]) -> int:
        from chunkflow.segmentation.hierarchy import linear_index

        return linear_index(tuple(self.grid_shape()), g)

    def save_contacts(self, block: BoundingBox, count: int, ends: np.ndarray, ids: np.ndarray) -> None:
        ids = ids.astype(np.uint32) if ids.size == 0 or int(ids.max()) < 2**32 else ids.astype(np.uint64)
        self.save_arrays(f"contacts/{block}.npz", count=np.array(count, np.int64), ends=ends.astype(np.int64), ids=ids)

    def _contacts(self, g: tuple[int, int, int]) -> dict[str, np.ndarray]:
        block = self.node_box(0, g)
        return self.load_arrays(f"contacts/{block}.npz", self.contacts_stage, keys=("count", "ends", "ids"))

    def block_table(self, block: BoundingBox) -> np.ndarray:
        """The block's table local id -> global id (int64, entry 0 is 0), written by ``down-1``."""
        return self.load_arrays(f"tables/{block}.npz", "down-1", keys=("table",))["table"].astype(np.int64)

    def total_count(self) -> int:
        """Components of the whole volume (the root's closed total), after ``up-H``."""
        root = self.node_box(self.height, (0, 0, 0))
        return int(self.load_arrays(f"up/{self.height}/{root}.npz", f"up-{self.height}")["closed_total"])

    # ---- tasks ------------------------------------------------------------------------------------
    def _leaves(self, node: tuple[int, int, int]) -> list[Any]:
        """Level-0 merges of a level-1 node's blocks, from the contacts files around them."""
        from chunkflow.segmentation.hierarchy import Summary, children, leaf_endpoints, merge_node

        shape = tuple(self.grid_shape())
        kids = children(shape, 1, node)
        low, high = self.contact_reach
        lo = [max(0, 2 * node[a] - low) for a in range(3)]
        hi = [min(shape[a], 2 * node[a] + 2 + high) for a in range(3)]
        lists, counts = [], {}
        for z in range(lo[0], hi[0]):
            for y in range(lo[1], hi[1]):
                for x in range(lo[2], hi[2]):
                    found = self._contacts((z, y, x))
                    lists.append((self._index((z, y, x)), found["ends"], found["ids"]))
                    counts[(z, y, x)] = int(found["count"])
        merged = []
        for c in kids:
            keys, ids = leaf_endpoints(self._index(c), lists)
            merged.append(merge_node([Summary(counts[c], 0, keys, ids)]))
        return merged

    def _up(self, level: int, box: BoundingBox | None) -> None:
        from chunkflow.segmentation.hierarchy import Summary, children, merge_node

        assert box is not None
        node = self.node_of(level, box)
        kids = children(tuple(self.grid_shape()), level, node)
        extra: dict[str, np.ndarray] = {}
        if level == 1:
            leaves = self._leaves(node)
            summaries = [leaf.summary for leaf in leaves]
            extra = _concat("leaf", [leaf.child_maps[0] for leaf in leaves])
        else:
            summaries = []
            for c in kids:
                got = self.load_arrays(
                    f"up/{level - 1}/{self.node_box(level - 1, c)}.npz",
                    f"up-{level - 1}",
                    ("open_count", "closed_total", "keys", "ids"),
                )
                summaries.append(
                    Summary(int(got["open_count"]), int(got["closed_total"]), got["keys"], got["ids"].astype(np.int64))
                )
        merged = merge_node(summaries)
        s = merged.summary
        if level == self.height and len(s.keys):  # the root has no outside: every contact has met its other end
            from chunkflow.errors import CorruptFileError

            raise CorruptFileError(
                f"{len(s.keys)} contact(s) of the {self.contacts_stage} files found only one end; the work files "
                f"are from different runs: delete {self.work_url('done')} and rerun the command"
            )
        self.save_arrays(
            f"maps/{level}/{box}.npz",
            closed_count=np.array(merged.closed_count),
            child_totals=np.array(merged.child_totals, np.int64),
            **_concat("map", merged.child_maps),
            **extra,
        )
        self.save_arrays(
            f"up/{level}/{box}.npz",
            open_count=np.array(s.open_count),
            closed_total=np.array(s.closed_total),
            keys=s.keys,
            ids=s.ids.astype(np.uint32 if s.open_count < 2**32 else np.int64),
        )

    def _down(self, level: int, box: BoundingBox | None) -> None:
        from chunkflow.segmentation.hierarchy import NodeMerge, Summary, children, down_node, global_table

        assert box is not None
        node = self.node_of(level, box)
        if level == self.height:
            offset, open_global = 0, np.zeros(1, np.int64)
        else:
            values = self.load_arrays(f"down/{level}/{box}.npz", f"down-{level + 1}", ("offset", "open_global"))
            offset, open_global = int(values["offset"]), values["open_global"].astype(np.int64)
        maps = self.load_arrays(
            f"maps/{level}/{box}.npz",
            f"up-{level}",
            ("closed_count", "child_totals", "map", "map_lengths") + (("leaf", "leaf_lengths") if level == 1 else ()),
        )
        child_maps = _split(maps, "map")
        merged = NodeMerge(
            Summary(0, 0, np.zeros(0, np.int64), np.zeros(0, np.int64)),
            int(maps["closed_count"]),
            child_maps,
            maps["child_totals"].tolist(),
        )
        kids = children(tuple(self.grid_shape()), level, node)
        values_down = down_node(merged, offset, open_global)
        if level > 1:
            for c, (child_offset, child_global) in zip(kids, values_down):
                self.save_arrays(
                    f"down/{level - 1}/{self.node_box(level - 1, c)}.npz",
                    offset=np.array(child_offset, np.int64),
                    open_global=_compact(child_global),
                )
            return
        for c, leaf_map, (child_offset, child_global) in zip(kids, _split(maps, "leaf"), values_down):
            table = global_table(leaf_map, child_offset, child_global)
            self.save_arrays(f"tables/{self.node_box(0, c)}.npz", table=_compact(table))


def _compact(values: np.ndarray) -> np.ndarray:
    return values.astype(np.uint32) if not values.size or int(values.max()) < 2**32 else values.astype(np.int64)


def _concat(name: str, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Arrays of different lengths as one concatenation plus their lengths (one npz, few members)."""
    return {
        name: np.concatenate([np.zeros(0, np.int64)] + arrays).astype(np.int64),
        f"{name}_lengths": np.array([len(a) for a in arrays], np.int64),
    }


def _split(arrays: dict[str, np.ndarray], name: str) -> list[np.ndarray]:
    cuts = np.cumsum(arrays[f"{name}_lengths"])[:-1]
    return np.split(arrays[name].astype(np.int64), cuts)
