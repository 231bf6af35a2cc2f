"""``chunkflow agglomerate-volume``: seam-free watershed + agglomeration of a whole affinity volume."""

from __future__ import annotations

import click

from chunkflow.commands._jobs import echo_plan, job_options, require_margin, run_options
from chunkflow.operators._options import triple

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"agglomerate-volume": {"section": "job", "extra": "segmentation"}}


@click.command("agglomerate-volume")
@click.option(
    "--volume-path",
    "-v",
    "affs_url",
    required=True,
    help="Affinity volume (3 channels z, y, x; float32 or uint8; precomputed or zarr URL).",
)
@click.option(
    "--output-path",
    "-o",
    "output_url",
    required=True,
    help="Output segmentation (uint32), created the size of the affinities unless it exists.",
)
@triple("--block-size", "-b", required=True, help="Core of each task in voxels; also the output's block size")
@triple(
    "--margin",
    "-m",
    help="Voxels of context added around each core (>= 1; a few times the typical object width works best)",
)
@click.option(
    "--threshold",
    "-t",
    type=click.FloatRange(0, 1),
    default=0.7,
    show_default=True,
    help="Agglomeration threshold (1 - mean affinity), as `agglomerate -t`.",
)
@click.option("--aff-threshold-low", type=float, default=0.0001, show_default=True, help="Watershed low threshold.")
@click.option("--aff-threshold-high", type=float, default=0.9999, show_default=True, help="Watershed high threshold.")
@click.option(
    "--scoring", default="mean", show_default=True, help="mean, quantile-10 .. quantile-95, or a waterz type."
)
@click.option(
    "--min-contact",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Voxel pairs two blocks' segments must share on a face to be joined.",
)
@job_options("OUTPUT.agglomerate-work")
def agglomerate_volume(
    affs_url,
    output_url,
    block_size,
    margin,
    threshold,
    aff_threshold_low,
    aff_threshold_high,
    scoring,
    min_contact,
    workers,
    queue_name,
    work_dir,
    keep_work_dir,
    overwrite,
    dask_address,
    prepare_only,
    dry_run,
) -> None:
    """Segment a whole affinity volume block by block with no seams (stages: agglomerate, match, up/down merge levels, relabel).

    Each task reads one block plus margin. Rerunning the same command resumes: finished tasks
    (done markers in the work dir) are skipped.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -o image inference -f identity -s 8 32 32 -v 2 8 8 -c 3 \\
          --output-crop-margin 0 0 0 -i image -o affs save-precomputed -i affs -v file://$PWD/affs
      chunkflow agglomerate-volume -v file://$PWD/affs -o file://$PWD/seg -b 8 32 32 -m 4 8 8 -t 0.7
    """
    require_margin(margin)
    from chunkflow.jobs.agglomerate import agglomerate_job
    from chunkflow.jobs.executors import run_job

    job = agglomerate_job(
        affs_url,
        output_url,
        block_size,
        margin,
        threshold,
        work_dir,
        aff_threshold_low=aff_threshold_low,
        aff_threshold_high=aff_threshold_high,
        scoring=scoring,
        min_contact=min_contact,
    )
    if dry_run:
        echo_plan(job)
        return
    options = run_options(workers, queue_name, dask_address, prepare_only, keep_work_dir, overwrite)
    seconds = run_job(job, **options)
    if prepare_only:
        from chunkflow.jobs.staged import worker_command

        click.echo(
            f"job {job.job_id} prepared in {job.work_dir}"
            + (f"; workers: {worker_command(job, queue_name)}" if queue_name else "")
        )
        return
    stages = ", ".join(f"{stage} {s:.1f} s" for stage, s in seconds.items())
    kept = f"work dir {job.work_dir}" if keep_work_dir else "work dir removed"
    click.echo(f"{job.count()} segments written to {output_url} (job {job.job_id}, {kept}; {stages})")
