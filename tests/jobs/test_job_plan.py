"""The cost of a staged job before it runs (issues 22.5, 23.5): per stage the tasks, object reads and writes,
bytes, scratch, memory and seconds per task, from a corner of <= 2x2x2 blocks, against a real run's counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.cli import main
from chunkflow.volumes import create_volume


@pytest.fixture
def volumes(tmp_path, job_affs, job_labels):
    affs = job_affs.with_array(np.ascontiguousarray(job_affs.array[:, :48, :96, :64]))
    create_volume(f"zarr://{tmp_path}/affs", like=affs, block_size=(16, 32, 32)).write(affs)
    prob = Chunk(
        ((job_labels.array[:48, :96, :64] % 3 == 0) & (job_labels.array[:48, :96, :64] != 0)).astype(np.float32),
        layer_type="probability_map",
    )
    create_volume(f"zarr://{tmp_path}/prob", like=prob, block_size=(16, 32, 32)).write(prob)
    return tmp_path


def _scratch(work: Path) -> int:
    """Bytes of the work files a real run left (not the manifest, result or done markers)."""
    skip = {"manifest.json", "result.json"}
    return sum(
        p.stat().st_size for p in work.rglob("*") if p.is_file() and p.name not in skip and "done" not in p.parts
    )


@pytest.mark.parametrize("kind", ["agglomerate", "global-cc"])
def test_dry_run_and_plan_match_a_real_run(volumes, tmp_path, capsys, kind):
    if kind == "agglomerate":
        args = ["agglomerate-volume", "-v", f"zarr://{volumes}/affs", "-m", "4", "8", "8"]
    else:
        args = ["global-connected-components", "-v", f"zarr://{volumes}/prob", "-t", "0.5"]
    args += ["-o", f"zarr://{tmp_path}/out", "-b", "16", "32", "32", "--work-dir", str(tmp_path / "work")]
    assert main([*args, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert not (tmp_path / "out").exists() and not (tmp_path / "work").exists()  # a dry run writes nothing
    assert "3x3x2" not in printed and "18 blocks" in printed
    # the same plan as JSON from a prepared job, then the real run
    assert main([*args, "--prepare"]) == 0
    capsys.readouterr()
    assert main(["plan", "--job", str(tmp_path / "work"), "--json"]) == 0
    plans = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]  # not waterz's prints
    assert main([*args, "--keep-work-dir"]) == 0
    work = tmp_path / "work"
    done = {stage.name: len(list(stage.iterdir())) for stage in (work / "done").iterdir()}
    assert {p["stage"]: p["tasks"] for p in plans} == done  # exact task counts, every stage
    for p in plans:
        assert p["stage"] in printed and f"{p['tasks']} tasks" in printed
        assert p["object_reads"] >= p["tasks"] and p["object_writes"] >= p["tasks"]  # at least the marker
        assert p["seconds_per_task"] > 0 and p["bytes_written"] >= p["scratch_bytes"]
    first = plans[0]
    assert first["memory_per_task"] >= 16 * 32 * 32 * 4  # at least the block it reads
    measured, planned = _scratch(work), sum(p["scratch_bytes"] for p in plans)
    assert measured > 0 and measured / 2 <= planned <= measured * 2, (planned, measured)
