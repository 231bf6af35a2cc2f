"""``chunkflow queue status|purge|requeue-dead QUEUE`` and ``chunkflow worker --processes N -- CHAIN``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import click

from chunkflow.queues.preemption import DEFAULT_GRACE_S, GRACE_ENVVAR, PREEMPTED_EXIT_CODE
from chunkflow.threads import share_environ, thread_share

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"queue": {"section": "queue"}, "worker": {"section": "queue"}}


@click.group("queue")
def queue() -> None:
    """Inspect and manage a task queue (sqs://NAME, NAME, or file:///path).

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-64_0-128 -c 16 64 64 -q file://$PWD/q
      chunkflow queue status file://$PWD/q
      chunkflow queue purge file://$PWD/q
    """


def _open(name: str, create: bool = False):
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
@click.option(
    "--processes",
    "-p",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes to start, each running the whole chain.",
)
@click.option(
    "--gpus",
    default="auto",
    show_default=True,
    help="GPUs shared out one per worker process in turn (CUDA_VISIBLE_DEVICES of each process): "
    "comma-separated ids, 'auto' (the ids in CUDA_VISIBLE_DEVICES, else every GPU `nvidia-smi -L` "
    "lists; none on a machine without GPUs) or 'none' (leave the environment as it is).",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=DEFAULT_GRACE_S,
    show_default=True,
    envvar=GRACE_ENVVAR,
    show_envvar=True,
    help="Seconds each worker may spend finishing its running task after SIGTERM (a spot "
    "notice, an eviction); then the task goes back to the queue at once. Passed to the workers' fetch-task "
    "(its own --grace wins).",
)
@click.argument("chain", nargs=-1, type=click.UNPROCESSED, required=True)
def worker(processes: int, gpus: str, grace: float, chain: tuple[str, ...]) -> None:
    """Run N local worker processes of the same chain (each a separate process, one GPU each where there are GPUs).

    Exits 0 when every worker did, 1 when any failed (a worker exits 1 when any of its tasks failed),
    143 when stopped by SIGTERM: the signal goes to every worker, which fetches no more, finishes its
    running task within --grace seconds or gives it back to the queue at once (visible again for
    another worker, no done marker, nothing half-written), and exits 143. SIGKILL is covered by
    the lease timeout (fetch-task -v).

    Each process's native thread pools (BLAS, OpenMP, torch) are limited to its share of the cores
    (cores / N, at least 1) through OMP_NUM_THREADS and its kin, unless those are set already.

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-64_0-256 -c 16 64 64 -q file://$PWD/q
      chunkflow worker -p 2 -- fetch-task -q file://$PWD/q -r 0 create-chunk save-h5 -f out/ delete-task-in-queue
    """
    args = [a for a in chain if a != "--"] if chain and chain[0] == "--" else list(chain)
    from chunkflow.cli import parse_chain

    parse_chain(args)  # a mistyped chain fails here, once, before N processes start
    ids = _gpu_ids(gpus)
    given = click.get_current_context().get_parameter_source("grace") == click.core.ParameterSource.COMMANDLINE
    # each process's BLAS/OpenMP/torch pools get its share of the cores, else N processes run N x cores threads
    env = {**os.environ, **share_environ(thread_share(processes))}
    if given:
        env[GRACE_ENVVAR] = f"{grace:g}"  # else the workers' own default (or env)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "chunkflow", *args],
            env=env if not ids else {**env, "CUDA_VISIBLE_DEVICES": ids[i % len(ids)]},
        )
        for i in range(processes)
    ]
    terminated = []

    def forward(signum: int, _frame: object) -> None:
        if signum == signal.SIGTERM:
            terminated.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        codes = [child.wait() for child in children]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    failed = [c for c in codes if c not in (0, PREEMPTED_EXIT_CODE)]
    if failed:
        raise click.ClickException(f"{len(failed)} of {processes} workers exited with errors ({failed})")
    if terminated or PREEMPTED_EXIT_CODE in codes:
        click.echo(f"{processes} workers stopped by SIGTERM (their tasks finished or were given back)", err=True)
        raise SystemExit(PREEMPTED_EXIT_CODE)  # click returns, not raises, its Exit under standalone_mode=False
    click.echo(f"{processes} workers finished")


def _gpu_ids(spec: str) -> list[str]:
    """The GPU ids ``--gpus`` names (``auto``: CUDA_VISIBLE_DEVICES, else ``nvidia-smi -L``; ``none``: [])."""
    if spec == "none":
        return []
    if spec != "auto":
        ids = [g.strip() for g in spec.split(",") if g.strip()]
        if not ids:
            raise click.BadParameter(
                f"{spec!r} names no GPU; give ids like 0,1 or 'auto' or 'none'", param_hint="--gpus"
            )
        return ids
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU ")]
