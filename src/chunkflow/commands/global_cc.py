"""``chunkflow global-connected-components``: the staged job of :mod:`chunkflow.jobs.global_cc`."""

from __future__ import annotations

import click

from chunkflow.commands._jobs import dask_options, job_options
from chunkflow.operators._options import triple


@click.command("global-connected-components")
@click.option("--volume-path", "-v", "input_url", required=True, help="Input volume (precomputed or zarr URL).")
@click.option("--output-path", "-o", "output_url", required=True, help="Output volume, created (uint32).")
@triple("--block-size", "-b", required=True, help="Block size of the independent tasks")
@click.option("--threshold", "-t", type=float, default=0.5, show_default=True,
              help="Foreground is value > threshold (ignored for segmentation input).")  # fmt: skip
@click.option("--connectivity", "-c", type=click.Choice(["6", "18", "26"]), default="6", show_default=True,
              help="Voxel neighbourhood: 6 faces, 18 faces and edges, 26 faces, edges and corners.")  # fmt: skip
@job_options("OUTPUT.cc-work")
def global_connected_components(input_url, output_url, block_size, threshold, connectivity, workers, work_dir,
                                queue_name, dask_address, prepare_only) -> None:  # fmt: skip
    """Connected components of a whole volume, block by block, with no seams (equals cc3d on the whole array).

    Stages: label, pairs, merge, relabel. Rerunning the same command resumes (done markers).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -o image save-precomputed -i image -v file://$PWD/image
      chunkflow global-connected-components -v file://$PWD/image -o file://$PWD/cc -b 8 32 32 -t 120 -c 26
    """
    from chunkflow.jobs.global_cc import global_connected_components as run

    count = run(input_url, output_url, block_size, threshold, int(connectivity), workers, work_dir, queue_name,
                prepare_only, dask=dask_options(dask_address, workers))  # fmt: skip
    if prepare_only:
        click.echo(f"job prepared; workers: chunkflow fetch-task -q {queue_name} staged-task --job {count} delete-task-in-queue"
                   if queue_name else f"job prepared in {count}")  # fmt: skip
        return
    click.echo(f"{count} connected components written to {output_url}")

