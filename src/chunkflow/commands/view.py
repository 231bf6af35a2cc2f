"""``chunkflow view URL [URL...]``: browse precomputed volumes (with meshes) in neuroglancer.

Inside a chain (``create-chunk ... view``), ``view`` is chunkflow 1.2.0's in-chain viewer instead
(:func:`view_in_chain`): the group picks it where ``view`` is not the first command.
"""

from __future__ import annotations

import sys
import threading
import webbrowser
from typing import Any

import click

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"view": {"section": "view", "extra": "viewer"}}


@click.command("view")
@click.argument("urls", nargs=-1, required=True)
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    default=9015,
    show_default=True,
    help="Viewer port (0: any free port).",
)
@click.option(
    "--bind-address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 exposes it to the network.",
)
@click.option(
    "--segments",
    "-s",
    default=None,
    help="Comma-separated ids whose meshes to show (default: the largest meshed objects).",
)
@click.option("--browser/--no-browser", default=True, show_default=True, help="Open the link in a web browser.")
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Also let web pages from ORIGIN (e.g. https://neuroglancer-demo.appspot.com; * for any) read the "
    "served volumes; default: only the viewer itself. Repeatable.",
)
def view(urls, port, bind_address, segments, browser, cors_origins) -> None:
    """Serve precomputed volumes from disk (or gs://, s3://, https://) in a local neuroglancer viewer.

    Prints the viewer link and serves until stopped (Ctrl-C).

    \b
    Example:
      chunkflow create-chunk -s 16 128 128 -e 40 4 4 save-precomputed -v file://$PWD/img
      chunkflow view $PWD/img --port 9015 --no-browser
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.viewer.serve import check_bind_address, check_origin, view_volumes

    try:
        ids = [int(s) for s in segments.split(",") if s.strip()] if segments else None
    except ValueError:
        raise click.BadParameter(
            f"{segments!r} is not a comma-separated list of ids", param_hint="--segments"
        ) from None
    try:  # both before anything is served: a bad one would only show as a browser that cannot connect
        cors_origins = [check_origin(origin) for origin in cors_origins]
    except InvalidParameterError as exc:
        raise click.BadParameter(str(exc), param_hint="--cors-origin") from None
    try:
        check_bind_address(bind_address)
    except InvalidParameterError as exc:
        raise click.BadParameter(str(exc), param_hint="--bind-address") from None
    session = view_volumes(urls, port=port, bind_address=bind_address, segments=ids, cors_origins=cors_origins)
    click.echo(f"neuroglancer viewer: {session.url}", nl=True)
    if session.data_server is not None:
        click.echo(f"local volumes served at {session.data_server.url}/<layer>/")
    click.echo(f"layers: {', '.join(session.layers)}; press Ctrl-C to stop", nl=True)
    sys.stdout.flush()
    if browser:
        webbrowser.open(session.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        session.stop()


@click.command("view")
@click.option("--name", "op_name", default="view", show_default=True, help="Name of this operator (in the task log).")
@click.option("--image-chunk-name", default="chunk", show_default=True, help="Chunk to show.")
@click.option("--segmentation-chunk-name", default=None, help="A segmentation chunk to show over it.")
@click.option(
    "--port", "-p", type=click.IntRange(0, 65535), default=0, show_default=True, help="Viewer port (0: any free port)."
)
@click.option("--browser/--no-browser", default=True, show_default=True, help="Open the link in a web browser.")
@click.option(
    "--seconds",
    type=click.FloatRange(min=0),
    default=None,
    help="Serve this long, then go on with the chain (default: until Ctrl-C, as chunkflow 1.2.0).",
)
def view_in_chain(op_name, image_chunk_name, segmentation_chunk_name, port, browser, seconds) -> Any:
    """chunkflow 1.2.0's in-chain viewer (``create-chunk ... view``): show each task's chunk (and a
    segmentation) in a local neuroglancer viewer, then go on with the chain.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 view --no-browser --seconds 30
    """
    from chunkflow.pipeline import Stage
    from chunkflow.task import Task

    def apply(task: Task) -> None:
        import tempfile

        from chunkflow.viewer.serve import view_volumes
        from chunkflow.volumes import save_chunk

        names = [image_chunk_name] + ([segmentation_chunk_name] if segmentation_chunk_name else [])
        with tempfile.TemporaryDirectory(prefix="chunkflow-view-") as directory:
            urls = [f"file://{directory}/{name}" for name in names]
            for url, name in zip(urls, names):
                save_chunk(url, task[name])
            session = view_volumes(urls, port=port)
            click.echo(f"neuroglancer viewer: {session.url}")
            click.echo(
                f"layers: {', '.join(session.layers)}; "
                + ("press Ctrl-C to go on" if seconds is None else f"going on in {seconds:g} s")
            )
            sys.stdout.flush()
            if browser:
                webbrowser.open(session.url)
            try:
                threading.Event().wait(seconds)
            except KeyboardInterrupt:
                pass
            finally:
                session.stop()

    return Stage(op_name, apply)
