"""Volume formats behind one interface (:mod:`chunkflow.volumes.base`), picked from the URL by one
registry (:mod:`chunkflow.volumes.registry`)."""

from __future__ import annotations

from chunkflow.chunk.base import Chunk
from chunkflow.errors import VolumeNotFoundError
from chunkflow.task import CreatePolicy
from chunkflow.volumes.base import Volume, create_volume, format_of, open_volume

__all__ = ["Volume", "open_volume", "create_volume", "save_chunk", "format_of"]


def save_chunk(url: str, chunk: Chunk, policy: CreatePolicy | None = None, **create_options: object) -> Volume:
    """Write ``chunk`` to ``url``.

    Single-file formats are (re)written whole; block formats are opened, or created from the
    chunk (its dtype, voxel size and layer type) when they do not exist yet: covering the chunk, or
    ``policy.region`` (a local ``generate-tasks`` loop's whole plan). With ``policy.refused_by`` (a queue
    worker or task file, where several processes would race to create it, each from its own chunk) a
    missing block volume is refused with the create-info command to run first.
    """
    from chunkflow.volumes.arrayfile import ArrayFileVolume
    from chunkflow.volumes.registry import volume_class

    policy = policy or CreatePolicy()

    cls = volume_class(url)
    if issubclass(cls, ArrayFileVolume):
        cls.save(url, chunk)
        return cls.open(url)
    try:
        volume = open_volume(url, mip=create_options.pop("mip", 0))
    except VolumeNotFoundError:
        source = policy.refused_by
        if source is not None:
            raise VolumeNotFoundError(
                f"no volume at {url}; tasks from {source} run side by side and must not each create it: create it "
                "for the whole region first (create-info -v URL -z SIZE -o OFFSET ..., or one local run)"
            ) from None
        region = policy.region
        if region is not None:
            region = region.union(chunk.bbox)
            create_options.setdefault("volume_size", region.size)
            create_options.setdefault("voxel_offset", region.start)
        volume = create_volume(url, like=chunk, **create_options)
    volume.write(chunk)
    return volume
