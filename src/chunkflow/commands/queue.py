"""``chunkflow queue status|purge|requeue-dead QUEUE`` and ``chunkflow worker --processes N -- CHAIN``."""

from __future__ import annotations

import signal
import subprocess
import sys

import click


@click.group("queue")
def queue() -> None:
    """Inspect and manage a task queue (sqs://NAME, NAME, or file:///path).

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-64_0-128 -c 16 64 64 -q file://$PWD/q
      chunkflow queue status file://$PWD/q
      chunkflow queue purge file://$PWD/q
    """


def _open(name: str, create: bool = False):  # type: ignore[no-untyped-def]
    from chunkflow.queues import open_queue

    return open_queue(name, create=create)


@queue.command("status")
@click.argument("queue_name")
def status(queue_name: str) -> None:
    """Waiting, in-flight and dead tasks; rate and ETA where known."""
    counts = _open(queue_name).counts()
    click.echo(f"queue      {queue_name}")
    click.echo(f"waiting    {counts.waiting}")
    click.echo(f"in flight  {counts.in_flight}")
    click.echo(f"dead       {counts.dead}")
    if counts.completed is not None:
        click.echo(f"completed  {counts.completed}")
    if counts.rate_per_s:
        click.echo(f"rate       {counts.rate_per_s * 60:.1f} tasks/min")
        click.echo(f"eta        {counts.eta_s / 60:.1f} min")


@queue.command("purge")
@click.argument("queue_name")
def purge(queue_name: str) -> None:
    """Delete every message (waiting, in flight and dead)."""
    _open(queue_name).purge()
    click.echo(f"purged {queue_name}")


@queue.command("requeue-dead")
@click.argument("queue_name")
def requeue_dead(queue_name: str) -> None:
    """Move dead-lettered tasks back into the queue."""
    click.echo(f"requeued {_open(queue_name).requeue_dead()} dead tasks into {queue_name}")


@click.command("worker", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--processes", "-p", type=click.IntRange(min=1), default=1, show_default=True)
@click.argument("chain", nargs=-1, type=click.UNPROCESSED, required=True)
def worker(processes: int, chain: tuple[str, ...]) -> None:
    """Run N local worker processes of the same chain (each a separate process).

    \b
    Example:
      chunkflow worker -p 4 -- fetch-task -q file:///tmp/q load-precomputed ... delete-task-in-queue
    """
    args = [a for a in chain if a != "--"] if chain and chain[0] == "--" else list(chain)
    children = [subprocess.Popen([sys.executable, "-m", "chunkflow", *args]) for _ in range(processes)]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    failed = [c for c in codes if c != 0]
    if failed:
        raise click.ClickException(f"{len(failed)} of {processes} workers exited with errors ({failed})")
    click.echo(f"{processes} workers finished")
