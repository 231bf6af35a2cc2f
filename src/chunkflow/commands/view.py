"""``chunkflow view URL [URL...]``: browse precomputed volumes (with meshes) in neuroglancer."""

from __future__ import annotations

import sys
import threading
import webbrowser

import click


@click.command("view")
@click.argument("urls", nargs=-1, required=True)
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=9015, show_default=True, help="Viewer port (0: any free port).")
@click.option("--bind-address", default="127.0.0.1", show_default=True, help="Address to listen on; 0.0.0.0 exposes it to the network.")
@click.option("--segments", "-s", default=None, help="Comma-separated ids whose meshes to show (default: the largest meshed objects).")
@click.option("--browser/--no-browser", default=True, show_default=True, help="Open the link in a web browser.")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Also let web pages from ORIGIN (e.g. https://neuroglancer-demo.appspot.com; * for any) read the "
              "served volumes; default: only the viewer itself. Repeatable.")  # fmt: skip
def view(urls, port, bind_address, segments, browser, cors_origins) -> None:
    """Serve precomputed volumes from disk (or gs://, s3://, https://) in a local neuroglancer viewer.

    Prints the viewer link and serves until stopped (Ctrl-C).

    \b
    Example:
      chunkflow create-chunk -s 16 128 128 -e 40 4 4 save-precomputed -v file://$PWD/img
      chunkflow view $PWD/img --port 9015 --no-browser
    """
    from chunkflow.viewer.serve import view_volumes

    try:
        ids = [int(s) for s in segments.split(",") if s.strip()] if segments else None
    except ValueError:
        raise click.BadParameter(f"{segments!r} is not a comma-separated list of ids", param_hint="--segments") from None
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
