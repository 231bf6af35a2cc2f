"""A staged job (global connected components) on a Dask LocalCluster equals the in-process run."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("distributed")

from chunkflow.jobs.dask_executor import DaskOptions  # noqa: E402
from chunkflow.jobs.dask_staged import run_job_on_dask  # noqa: E402
from chunkflow.jobs.global_cc import GlobalCCJob  # noqa: E402
from chunkflow.jobs.staged import run_job  # noqa: E402
from chunkflow.volumes import create_volume, open_volume  # noqa: E402


@pytest.mark.slow
def test_global_cc_on_dask_equals_local_run_and_resumes(job_labels, tmp_path):
    url = f"zarr://{tmp_path}/labels"
    create_volume(url, like=job_labels, block_size=(16, 32, 32)).write(job_labels)
    params = {"input_url": url, "block_size": [16, 48, 48], "threshold": 0.5, "connectivity": 6}
    local = GlobalCCJob({**params, "output_url": f"zarr://{tmp_path}/local"}, str(tmp_path / "local-work"))
    run_job(local, workers=1)
    assert not (tmp_path / "local-work").exists()  # scratch removed when the job ends
    job = GlobalCCJob({**params, "output_url": f"zarr://{tmp_path}/dask"}, str(tmp_path / "dask-work"))
    options = DaskOptions(workers=2, dashboard_address=None)
    seconds = run_job_on_dask(job, options, keep_work_dir=True)
    assert list(seconds) == job.stage_names
    expected = open_volume(f"zarr://{tmp_path}/local").read().array
    assert expected.max() > 10
    np.testing.assert_array_equal(open_volume(f"zarr://{tmp_path}/dask").read().array, expected)
    assert all(not job.missing(stage) for stage in job.stage_names)
    # a rerun finds every done marker: nothing left to submit in any stage
    markers = sorted(p.stat().st_mtime_ns for p in (tmp_path / "dask-work" / "done").rglob("*") if p.is_file())
    run_job_on_dask(job, options, keep_work_dir=True)
    assert markers == sorted(p.stat().st_mtime_ns for p in (tmp_path / "dask-work" / "done").rglob("*") if p.is_file())
