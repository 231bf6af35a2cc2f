"""Packaging: extras by role, the missing-extra message, one version, the install script and images."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from chunkflow import _extras

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ROLE_EXTRAS = ("inference", "segmentation", "mesh", "viewer", "dask", "tensorstore", "plugins")
# distribution -> top-level module (where they differ)
MODULE_OF = {"connected-components-3d": "cc3d", "dask[distributed]": "distributed", "dask-jobqueue": "dask_jobqueue",
             "onnx": None, "bokeh": None, "scikit-image": "skimage", "matplotlib": None,
             "opencv-python-headless": "cv2", "pynrrd": "nrrd", "DracoPy": None}  # fmt: skip


def _dist(requirement: str) -> str:
    return re.split(r"[<>=!~; ]", requirement, maxsplit=1)[0]


def test_extras_by_role_over_a_small_core():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert set(ROLE_EXTRAS) | {"all", "test"} == set(extras)
    core = {_dist(r) for r in PYPROJECT["project"]["dependencies"]}
    for extra in ROLE_EXTRAS:
        for requirement in extras[extra]:
            dist = _dist(requirement)
            assert dist not in core or dist == "fastremap", f"{dist} of [{extra}] is also in the core"
            module = MODULE_OF.get(dist, dist.replace("-", "_"))
            if module is not None and extra in _extras.EXTRA_MODULES:
                # what the extra installs is what the missing-extra check probes
                probed = [m for key, mods in _extras.EXTRA_MODULES.items() if key.split("-")[0] == extra for m in mods]
                assert module in probed, (extra, module)
    assert extras["all"] == [f"chunkflow[{','.join(ROLE_EXTRAS)}]"]
    for heavy in ("torch", "onnxruntime", "waterz", "zmesh", "kimimaro", "neuroglancer", "scipy", "tensorstore"):
        assert heavy not in core


def test_every_declared_extra_is_a_pyproject_extra():
    from chunkflow.operators.registry import OPERATORS

    declared = {OPERATORS.load(name).extra for name in OPERATORS.names()} - {None}
    assert {"inference", "segmentation", "mesh", "viewer"} <= declared
    for extra in declared:
        assert extra in _extras.EXTRA_MODULES
        assert _extras.pip_command(extra).split("[")[1].rstrip("]'") in PYPROJECT["project"]["optional-dependencies"]


@pytest.fixture
def hide(monkeypatch):
    """Make find_spec report some top-level modules as not installed."""
    real = importlib.util.find_spec
    hidden: set[str] = set()

    def find_spec(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None if name in hidden else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    return hidden.update


def test_missing_extra_fails_with_one_line_before_any_work(hide, cli_runner, capsys, tmp_path):
    hide({"torch"})
    out = tmp_path / "before.h5"
    code = cli_runner(
        [
            "create-chunk",
            "-s",
            "8",
            "32",
            "32",
            "save-h5",
            "-f",
            str(out),
            "inference",
            "-s",
            "4",
            "16",
            "16",
            "-c",
            "3",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        "chunkflow: error: 'inference' needs the 'inference' extra (torch not installed); "
        "install it with: pip install 'chunkflow[inference]'"
    ]
    assert not out.exists()


def test_help_still_lists_and_shows_an_operator_whose_extra_is_missing(hide, cli_runner, capsys):
    hide({"torch", "onnxruntime", "neuroglancer", "zmesh"})
    assert cli_runner(["--help"]) == 0
    listing = capsys.readouterr().out
    for name in ("inference", "mesh", "view", "neuroglancer"):
        assert re.search(rf"^\s+{name}\s", listing, re.M), name
    assert cli_runner(["inference", "--help"]) == 0
    assert "--input-patch-size" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "hidden", "extra"),
    [
        (["view", "/tmp"], {"neuroglancer"}, "viewer"),
        (["create-chunk", "agglomerate", "-t", "0.5"], {"waterz"}, "segmentation"),
        (["create-chunk", "mesh", "-o", "/tmp/x"], {"zmesh"}, "mesh"),
        (["create-chunk", "clahe"], {"skimage"}, "segmentation"),
        (["run", "--", "generate-tasks", "-b", "0-8_0-8_0-8", "-c", "8", "8", "8"], {"distributed"}, "dask"),
    ],
)
def test_each_role_names_its_extra(hide, cli_runner, capsys, argv, hidden, extra):
    hide(hidden)
    assert cli_runner(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"the {extra!r} extra" in err[0] and f"pip install 'chunkflow[{extra}]'" in err[0], err


def test_version_from_one_place(run_cli):
    import chunkflow

    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "chunkflow.__version__"}
    assert "version" not in PYPROJECT["project"]
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"chunkflow, version {chunkflow.__version__}"
    assert f"## {chunkflow.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_images_and_ci_install_through_one_script():
    script = "docker/install.sh"
    assert (ROOT / script).stat().st_mode & 0o111
    for dockerfile in ("Dockerfile", "Dockerfile.cuda"):
        text = (ROOT / dockerfile).read_text()
        assert f"bash {script} /opt/chunkflow" in text, dockerfile
        assert len(re.findall(r"^FROM ", text, re.M)) == 2 and "COPY --from=build /opt/chunkflow" in text
        assert re.search(r"^USER chunkflow$", text, re.M) and 'ENTRYPOINT ["chunkflow"]' in text
    assert "download.pytorch.org/whl/cu" in (ROOT / "Dockerfile.cuda").read_text()
    assert script in (ROOT / ".ci/wheel-test").read_text()
    assert "wheel-test" in (ROOT / ".ci/run").read_text()
    assert '-e ".[all,test]"' in (ROOT / "Makefile").read_text()
    for template in (
        "deploy/kubernetes-worker.yaml",
        "deploy/slurm-worker.sh",
        "deploy/dask-slurm.sh",
        "deploy/dask-kubernetes.yaml",
    ):
        assert (
            "chunkflow" in (ROOT / template).read_text() and "python:3.11-slim" not in (ROOT / template).read_text()
        ), template


def test_core_install_is_at_most_a_quarter_of_all():
    """The README's figure: the core's installed files vs all extras', from this venv's metadata."""
    import sys

    pytest.importorskip("torch")  # this venv has `all`
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import install_size  # its _common drops benchmarks/ from sys.path again

    core, everything = install_size.closure("chunkflow", set()), install_size.closure("chunkflow", {"all"})
    assert "torch" in everything and "torch" not in core and "zarr" in core
    fraction = sum(core.values()) / sum(everything.values())
    assert fraction <= 0.25, fraction


def test_documents_link_only_to_files_inside_the_repository():
    """README, CONVENTIONS and CHANGELOG: every relative link names a file of this repository."""
    for document in ("README.md", "CONVENTIONS.md", "CHANGELOG.md", "benchmarks/README.md"):
        text = (ROOT / document).read_text()
        assert "../shared" not in text, document
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", text):
            if re.match(r"[a-z]+://|mailto:", target):
                continue
            path = ((ROOT / document).parent / target).resolve()
            assert path.is_relative_to(ROOT) and path.exists(), (document, target)
    assert "[CONVENTIONS.md](CONVENTIONS.md)" in (ROOT / "README.md").read_text()
