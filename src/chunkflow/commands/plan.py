"""``chunkflow plan -v URL``: task shape, count and memory per task for a precomputed volume;
``chunkflow plan --job WORK_DIR``: per stage the cost of a prepared staged job (:mod:`chunkflow.jobs.plan`)."""

from __future__ import annotations

import json

import click

from chunkflow.operators._options import triple

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"plan": {"section": "queue"}}


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


@click.command("plan")
@click.option("--volume-path", "-v", default=None, help="Precomputed volume to plan tasks for (its info must exist).")
@click.option(
    "--job",
    "job_path",
    default=None,
    help="Instead of -v: a staged job's work dir or manifest.json (written by agglomerate-volume or "
    "global-connected-components with --prepare): print its stages' tasks, object reads and writes, "
    "bytes, scratch, memory and time per task, from a run on a corner of at most 2x2x2 blocks.",
)
@click.option(
    "--chunk-mip",
    "-c",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Mip the tasks read and write (the transfer mip; the pyramid starts above it).",
)
@click.option(
    "--stop-mip",
    "-p",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Pyramid stop mip, exclusive as in downsample-upload (4 plans mips up to 3).",
)
@triple(
    "--factor", "-f", default=(1, 2, 2), show_default=True, help="Factor between mips where the info lacks them (ZYX)"
)
@click.option(
    "--memory-target",
    type=click.IntRange(min=1),
    default=2**30,
    show_default=True,
    help="Bytes of task array an unsharded task may hold; sharded tasks are one shard.",
)
@click.option("--json", "as_json", is_flag=True, default=False, help="Print one JSON line per layout instead of text.")
def plan(volume_path, job_path, chunk_mip, stop_mip, factor, memory_target, as_json) -> None:
    """Print the task shape, task count, memory per task and files per mip of a transfer and of a
    one-pass pyramid over a precomputed volume (sharded or not); writes nothing.

    \b
    Example:
      chunkflow create-info -v file://$PWD/sharded -z 64 512 512 -b 64 64 64 --max-mip 2 --sharded --shard-bytes 4194304
      chunkflow plan -v file://$PWD/sharded -p 3
      chunkflow create-chunk -s 16 64 64 -o image save-precomputed -i image -v file://$PWD/image
      chunkflow global-connected-components -v file://$PWD/image -o file://$PWD/cc -b 8 32 32 -t 120 --prepare
      chunkflow plan --job file://$PWD/cc.cc-work
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.volumes.plan import plan_volume

    if (volume_path is None) == (job_path is None):
        raise click.UsageError("give one of --volume-path (a volume's transfer and pyramid) or --job (a staged job)")
    if job_path is not None:
        from chunkflow.jobs.plan import format_plan, plan_job
        from chunkflow.jobs.staged import load_job

        job = load_job(job_path)
        plans = plan_job(job)
        for line in [json.dumps(p.as_dict()) for p in plans] if as_json else format_plan(job, plans):
            click.echo(line)
        return

    if stop_mip <= chunk_mip + 0:
        raise InvalidParameterError(f"--stop-mip {stop_mip} must be above --chunk-mip {chunk_mip}")
    for layout in plan_volume(volume_path, chunk_mip, stop_mip - 1, factor, memory_target):
        if as_json:
            click.echo(json.dumps(layout.as_dict()))
            continue
        first, last = layout.mips
        what = f"mip {first}" if layout.job == "transfer" else f"mips {first}..{last}"
        shape = " ".join(map(str, layout.task_shape))
        files = ", ".join(f"mip {m}: {n}" for m, n in layout.files_per_mip.items())
        click.echo(
            f"{layout.job} ({what}): task {shape} (ZYX at mip {chunk_mip}), {layout.task_count} tasks, "
            f"~{_size(layout.bytes_per_task)} per task; files {files}"
        )
        click.echo(f"  chunkflow generate-tasks -v {volume_path} -m {chunk_mip} -c {shape} ...")
        if layout.note:
            click.echo(f"  note: {layout.note}")
