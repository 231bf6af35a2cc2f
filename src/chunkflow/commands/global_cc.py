"""``chunkflow global-connected-components``: the staged job of :mod:`chunkflow.jobs.global_cc`."""

from __future__ import annotations

import click

from chunkflow.commands._jobs import echo_plan, job_options, run_options
from chunkflow.operators._options import triple

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"global-connected-components": {"section": "job", "extra": "segmentation"}}


@click.command("global-connected-components")
@click.option("--volume-path", "-v", "input_url", required=True, help="Input volume (precomputed or zarr URL).")
@click.option("--output-path", "-o", "output_url", required=True, help="Output volume, created (uint32).")
@triple("--block-size", "-b", required=True, help="Block size of the independent tasks")
@click.option(
    "--threshold",
    "-t",
    type=float,
    default=0.5,
    show_default=True,
    help="Foreground is value > threshold (ignored for segmentation input).",
)
@click.option(
    "--connectivity",
    "-c",
    type=click.Choice(["6", "18", "26"]),
    default="6",
    show_default=True,
    help="Voxel neighbourhood: 6 faces, 18 faces and edges, 26 faces, edges and corners.",
)
@job_options("OUTPUT.cc-work")
def global_connected_components(
    input_url,
    output_url,
    block_size,
    threshold,
    connectivity,
    workers,
    queue_name,
    work_dir,
    keep_work_dir,
    overwrite,
    dask_address,
    prepare_only,
    dry_run,
) -> None:
    """Connected components of a whole volume, block by block, with no seams (equals cc3d on the whole array).

    Stages: label, pairs, up-1..up-H and down-H..down-1 (a bounded merge), relabel. Rerunning the same command resumes (done markers).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -o image save-precomputed -i image -v file://$PWD/image
      chunkflow global-connected-components -v file://$PWD/image -o file://$PWD/cc -b 8 32 32 -t 120 -c 26
    """
    from chunkflow.jobs.executors import run_job
    from chunkflow.jobs.global_cc import global_cc_job
    from chunkflow.jobs.staged import worker_command

    job = global_cc_job(input_url, output_url, block_size, threshold, int(connectivity), work_dir)
    if dry_run:
        echo_plan(job)
        return
    run_job(job, **run_options(workers, queue_name, dask_address, prepare_only, keep_work_dir, overwrite))
    if prepare_only:
        click.echo(
            f"job {job.job_id} prepared in {job.work_dir}"
            + (f"; workers: {worker_command(job, queue_name)}" if queue_name else "")
        )
        return
    click.echo(f"{job.count()} connected components written to {output_url}")
