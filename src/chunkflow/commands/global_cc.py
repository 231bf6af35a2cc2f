"""``chunkflow global-connected-components``: the four stages, run here in local processes."""

from __future__ import annotations

import click

from chunkflow.operators._options import triple


@click.command("global-connected-components")
@click.option("--volume-path", "-v", "input_url", required=True, help="Input volume (precomputed or zarr URL).")
@click.option("--output-path", "-o", "output_url", required=True, help="Output volume, created (uint32).")
@triple("--block-size", "-b", required=True, help="Block size of the independent tasks")
@click.option("--threshold", "-t", type=float, default=0.5, show_default=True,
              help="Foreground is value > threshold (ignored for segmentation input).")  # fmt: skip
@click.option("--connectivity", "-c", type=click.Choice(["6", "18", "26"]), default="6", show_default=True)
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help="Local processes.")
@click.option("--work-dir", default=None, help="Scratch directory (default: beside the output; shared with workers).")
@click.option("--queue-name", "-q", default=None,
              help="Send the stages to this queue (one after the other) instead of running them here.")  # fmt: skip
def global_connected_components(input_url, output_url, block_size, threshold, connectivity, workers, work_dir,
                                queue_name) -> None:  # fmt: skip
    """Connected components of a whole volume, block by block, with no seams."""
    from chunkflow.jobs.global_cc import global_connected_components as run

    count = run(input_url, output_url, block_size, threshold, int(connectivity), workers, work_dir, queue_name)
    click.echo(f"{count} connected components written to {output_url}")
