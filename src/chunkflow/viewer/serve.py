"""A local neuroglancer viewer over precomputed volumes and in-memory chunks.

Two servers run in background threads, both bound to ``bind_address`` (127.0.0.1 by default):
neuroglancer's own (the client it bundles, so no network is needed, plus its state channel) and a
small CORS file server for local precomputed directories. cloud-volume stores chunks gzip'ed
as ``NAME.gz``; the file server answers a request for ``NAME`` with that file and
``Content-Encoding: gzip``, which is what neuroglancer expects from an HTTP source.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chunkflow.chunk.base import Chunk
from chunkflow.errors import InvalidParameterError, VolumeNotFoundError

__all__ = ["DataServer", "ViewerSession", "view_volumes", "show_chunks", "new_token", "origin_of"]

_REMOTE = ("gs://", "s3://", "http://", "https://")


def new_token() -> str:
    """A fresh random viewer token: the link (and the right to change the viewer's state) is
    known only to whoever started this run, not to every web page that guesses a fixed name."""
    return secrets.token_urlsafe(18)


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (a browser's ``Origin`` header for a page there)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _make_handler():
    import tornado.web

    class Handler(tornado.web.RequestHandler):
        def initialize(self, root: str, origins: list[str]) -> None:
            self.root = os.path.realpath(root)
            self.origins = origins  # filled once the viewer's own address is known

        def set_default_headers(self) -> None:
            self.set_header("Vary", "Origin")

        def prepare(self) -> None:
            origin = self.request.headers.get("Origin")
            if origin is not None and ("*" in self.origins or origin in self.origins):
                self.set_header("Access-Control-Allow-Origin", origin)
                self.set_header("Access-Control-Allow-Headers", "x-requested-with, range")
                self.set_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
                self.set_header("Access-Control-Expose-Headers", "Content-Range, Content-Length, Accept-Ranges")

        def options(self, path: str) -> None:
            self.set_status(204)

        def _resolve(self, path: str) -> tuple[str, bool] | None:
            full = os.path.realpath(os.path.join(self.root, path))
            if not full.startswith(self.root + os.sep) and full != self.root:
                return None  # outside the served directory
            if os.path.isfile(full):
                return full, False
            if os.path.isfile(full + ".gz"):
                return full + ".gz", True
            return None

        def head(self, path: str) -> None:
            self.get(path, body=False)

        def get(self, path: str, body: bool = True) -> None:
            found = self._resolve(path)
            if found is None:
                raise tornado.web.HTTPError(404)
            name, gz = found
            if gz:
                self.set_header("Content-Encoding", "gzip")
            self.set_header("Content-Type", "application/json" if path.endswith("info") else "application/octet-stream")
            with open(name, "rb") as f:
                data = f.read()
            if not gz:
                # neuroglancer reads sharded volumes (shard indices, minishards, chunks) with range requests
                self.set_header("Accept-Ranges", "bytes")
                span = _byte_range(self.request.headers.get("Range"), len(data))
                if isinstance(span, str):  # "unsatisfiable"
                    self.set_status(416)
                    self.set_header("Content-Range", f"bytes */{len(data)}")
                    return
                if span is not None:
                    start, stop = span
                    self.set_status(206)
                    self.set_header("Content-Range", f"bytes {start}-{stop - 1}/{len(data)}")
                    data = data[start:stop]
            if body:
                self.write(data)
            else:
                self.set_header("Content-Length", str(len(data)))

    return Handler


def _byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """``(start, stop)`` of a single ``Range: bytes=a-b`` / ``a-`` / ``-n`` header; None to send everything
    (no header, or a form we do not serve piecewise); ``"unsatisfiable"`` past the end (HTTP 416)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes=") :].strip().partition("-")
    try:
        if first == "":
            count = int(last)
            return (max(size - count, 0), size) if count > 0 else "unsatisfiable"
        start = int(first)
        stop = min(int(last) + 1, size) if last else size
    except ValueError:
        return None
    if start >= size or stop <= start:
        return "unsatisfiable"
    return start, stop


def _server_base():
    from neuroglancer.async_util import BackgroundTornadoServer

    return BackgroundTornadoServer


class DataServer:
    """Serves local directories at ``http://ADDRESS:PORT/<name>/`` in a background thread.

    Cross-origin reads are allowed only from ``origins`` (the viewer's own origin; ``*`` for any),
    a list that may be filled after the server starts.
    """

    def __new__(
        cls,
        directories: dict[str, str],
        bind_address: str = "127.0.0.1",
        port: int = 0,
        origins: list[str] | None = None,
    ):
        origins = [] if origins is None else origins
        import tornado.httpserver
        import tornado.netutil
        import tornado.web

        handler = _make_handler()

        class _Server(_server_base()):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__(daemon=True)

            def _attempt_to_start_server(self) -> None:
                routes = [
                    (rf"/{name}/(.*)", handler, {"root": path, "origins": origins})
                    for name, path in directories.items()
                ]
                self.http_server = tornado.httpserver.HTTPServer(tornado.web.Application(routes))
                sockets = tornado.netutil.bind_sockets(port=port, address=bind_address)
                self.http_server.add_sockets(sockets)
                self.url = f"http://{bind_address}:{sockets[0].getsockname()[1]}"

        server = _Server()
        server.origins = origins
        return server


@dataclass
class ViewerSession:
    """A running viewer: ``url`` is the link to open; ``stop()`` shuts both servers down."""

    viewer: Any
    url: str
    data_server: Any = None
    layers: list[str] = field(default_factory=list)

    def stop(self) -> None:
        import neuroglancer

        if self.data_server is not None:
            self.data_server.stop()
        neuroglancer.stop()


def _start_neuroglancer(bind_address: str, port: int) -> Any:
    import neuroglancer

    if port:
        with socket.socket() as s:  # refuse a busy port with one clear line, not a tornado traceback
            try:
                s.bind((bind_address, port))
            except OSError:
                raise InvalidParameterError(f"port {port} on {bind_address} is in use; pass another --port") from None
    neuroglancer.stop()
    neuroglancer.set_server_bind_address(bind_address, port)
    return neuroglancer.Viewer(token=new_token())


def _local_dir(url: str) -> Path:
    from chunkflow.volumes.base import strip_scheme

    path = Path(strip_scheme(url)).expanduser().resolve()
    if not (path / "info").is_file():
        raise VolumeNotFoundError(
            f"no precomputed volume at {url} (no {path / 'info'}); pass a directory with an info file"
        )
    return path


def read_info(path: Path, url: str) -> dict[str, Any]:
    """The checked ``info`` of the local volume at ``path``: a garbage or foreign one is one line naming it."""
    from chunkflow.files import read_json
    from chunkflow.volumes.precomputed import check_info

    info = read_json(path / "info", "info file", "fix it, or recreate it with create-info")
    check_info(info, url)
    return info


def check_bind_address(bind_address: str) -> None:
    """Refuse an address this machine cannot listen on (not an IP or host name, or none of its own)."""
    try:
        family = socket.getaddrinfo(bind_address, None, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family) as s:
            s.bind((bind_address, 0))
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise InvalidParameterError(
            f"cannot listen on {bind_address!r} ({why}); give 127.0.0.1, 0.0.0.0 or an address of this machine"
        ) from None


def check_origin(origin: str) -> str:
    """A CORS origin as browsers send it, ``scheme://host[:port]`` (http or https), or ``*``; else refused."""
    from urllib.parse import urlsplit

    if origin == "*":
        return origin
    parts = urlsplit(origin.rstrip("/"))
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        parts = parts._replace(netloc="")
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or " " in origin
        or parts.username
        or parts.password
    ):
        raise InvalidParameterError(
            f"{origin!r} is not a web origin; give scheme://host[:port] (e.g. https://neuroglancer-demo.appspot.com) "
            "or * for any page"
        )
    return f"{parts.scheme}://{parts.netloc}"


def largest_meshed_segments(path: Path, count: int = 20, info: dict[str, Any] | None = None) -> list[int]:
    """Ids of the objects with the most mesh data (a cheap proxy for the largest objects)."""
    info = read_info(path, str(path)) if info is None else info
    mesh = path / info["mesh"] if isinstance(info.get("mesh"), str) and info["mesh"] else None
    if mesh is None or not mesh.is_dir():
        return []
    from chunkflow.postprocess._layout import MESH_FRAGMENT, fragments_by_id

    sizes = {
        int(obj): sum(e.stat().st_size for e in entries)
        for obj, entries in fragments_by_id(mesh, MESH_FRAGMENT).items()
    }
    return sorted(sizes, key=lambda k: -sizes[k])[:count]


def _layer(neuroglancer: Any, source: str, info: dict[str, Any], segments: Sequence[int]) -> Any:
    if info.get("type") == "segmentation":
        return neuroglancer.SegmentationLayer(source=source, segments=list(segments))
    if info.get("num_channels", 1) == 3:  # affinities / RGB
        shader = "void main() { emitRGB(vec3(toNormalized(getDataValue(0)), toNormalized(getDataValue(1)), toNormalized(getDataValue(2)))); }"
        if info.get("data_type", "").startswith("float"):
            shader = "void main() { emitRGB(vec3(getDataValue(0), getDataValue(1), getDataValue(2))); }"
        return neuroglancer.ImageLayer(source=source, shader=shader)
    return neuroglancer.ImageLayer(source=source)


def _frame(state: Any, infos: list[dict[str, Any]]) -> None:
    """Centre the view on the first local volume and zoom so it fills the panels."""
    if not infos:
        return
    scale = infos[0]["scales"][0]
    size, offset, res = scale["size"], scale["voxel_offset"], scale["resolution"]  # XYZ
    state.position = [o + s / 2 for o, s in zip(offset, size)]
    extent_nm = max(s * r for s, r in zip(size[:2], res[:2]))
    state.cross_section_scale = extent_nm * 1e-9 / 450  # metres per screen pixel
    state.projection_scale = 3e-9 * extent_nm  # metres across the 3D view, which looks down z


def view_volumes(
    urls: Iterable[str],
    port: int = 0,
    bind_address: str = "127.0.0.1",
    segments: Sequence[int] | None = None,
    cors_origins: Sequence[str] = (),
) -> ViewerSession:
    """Serve precomputed volumes (local paths or ``file://``; ``gs://``, ``s3://``, ``http(s)://``
    are opened by the browser directly) in a neuroglancer viewer; segmentation layers show the
    meshes of ``segments`` (default: the largest meshed objects).

    The viewer link carries a random token per run; the local data server answers cross-origin
    reads only from the viewer's own origin and ``cors_origins`` (``*``: any page).
    """
    import logging

    import neuroglancer

    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # a missing skeleton or chunk is a normal 404
    urls = list(urls)
    if not urls:
        raise InvalidParameterError("no volume to view; pass one or more precomputed volume paths or URLs")
    check_bind_address(bind_address)
    cors_origins = [check_origin(o) for o in cors_origins]
    local: dict[str, Path] = {}
    sources: list[tuple[str, str, dict[str, Any], list[int]]] = []
    for i, url in enumerate(urls):
        if url.startswith(_REMOTE):
            sources.append(
                (url.rstrip("/").rsplit("/", 1)[-1] or f"layer{i}", f"precomputed://{url}", {}, list(segments or ()))
            )
            continue
        path = _local_dir(url)
        name = path.name if path.name not in local else f"{path.name}{i}"
        local[name] = path
        info = read_info(path, url)
        chosen = list(segments) if segments is not None else largest_meshed_segments(path, info=info)
        sources.append((name, "", info, chosen))
    origins = list(cors_origins)
    data = DataServer({n: str(p) for n, p in local.items()}, bind_address, origins=origins) if local else None
    viewer = _start_neuroglancer(bind_address, port)
    origins.append(origin_of(viewer.get_viewer_url()))
    with viewer.txn() as state:
        for name, source, info, chosen in sources:
            src = source or f"precomputed://{data.url}/{name}"  # type: ignore[union-attr]  # a local source has a server
            state.layers[name] = _layer(neuroglancer, src, info, chosen)
        state.layout = "4panel"
        _frame(state, [info for _, _, info, _ in sources if info])
    return ViewerSession(viewer, viewer.get_viewer_url(), data, [s[0] for s in sources])


def show_chunks(chunks: dict[str, Chunk], port: int = 0, bind_address: str = "127.0.0.1") -> ViewerSession:
    """Show in-memory chunks (image, maps, segmentations) as neuroglancer layers."""
    import neuroglancer
    import numpy as np

    viewer = _start_neuroglancer(bind_address, port)
    with viewer.txn() as state:
        for name, chunk in chunks.items():
            array = chunk.array
            names = ["z", "y", "x"] if chunk.ndim == 3 else ["c^", "z", "y", "x"]
            units = ["nm"] * 3 if chunk.ndim == 3 else ["", "nm", "nm", "nm"]
            scales = list(chunk.voxel_size) if chunk.ndim == 3 else [1, *chunk.voxel_size]
            offset = list(chunk.voxel_offset) if chunk.ndim == 3 else [0, *chunk.voxel_offset]
            dims = neuroglancer.CoordinateSpace(names=names, units=units, scales=scales)
            kind = "segmentation" if chunk.is_segmentation else "image"
            source = neuroglancer.LocalVolume(np.ascontiguousarray(array), dims, voxel_offset=offset, volume_type=kind)
            layer = neuroglancer.SegmentationLayer if chunk.is_segmentation else neuroglancer.ImageLayer
            state.layers[name] = layer(source=source)
    return ViewerSession(viewer, viewer.get_viewer_url(), None, list(chunks))
