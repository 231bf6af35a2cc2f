"""No module outside :mod:`chunkflow.files` writes a file (CONVENTIONS.md, "Storage and job state").

Walks every module with ``ast`` and fails on a direct write: ``open`` in a writing mode, ``Path.write_text``
/ ``write_bytes`` / ``touch`` / ``mkdir``, ``os.open`` / ``os.replace`` / ``os.rename`` / ``os.link``, ``shutil``
moves and copies. A library that must write a local file itself (h5py, tifffile, PNG stacks) writes into the
temporary that ``files.atomic_path`` yields, and calls on that name are allowed. The few modules that own
their own on-disk protocol are listed in ``ALLOWED`` with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "chunkflow"

#: module (relative to src/chunkflow) -> why it may write directly
ALLOWED = {
    "files.py": "the storage module itself",
    "queues/file_queue.py": "the file queue's claims are its own rename-based protocol on one directory",
    "_quiet.py": "points a native library's stderr at /dev/null (a file descriptor, not a file)",
}

WRITING_METHODS = {"write_text", "write_bytes", "touch", "mkdir", "unlink", "rmdir", "rename",
                   "symlink_to", "hardlink_to"}  # fmt: skip
WRITING_OS = {"open", "replace", "rename", "link", "symlink", "remove", "unlink", "makedirs", "mkdir", "rmdir"}
WRITING_SHUTIL = {"move", "copy", "copy2", "copyfile", "copytree", "rmtree", "copyfileobj"}


def _atomic_names(tree: ast.AST) -> set[str]:
    """Names bound by ``with atomic_path(...) as NAME`` (the temporaries files.atomic_path hands out)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and isinstance(item.optional_vars, ast.Name):
                    func = call.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name == "atomic_path":
                        names.add(item.optional_vars.id)
    return names


def _root_name(node: ast.AST) -> str:
    """The name an expression starts from: ``tmp`` for ``(tmp / "x").write_text`` or ``tmp.open()``."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.BinOp):
            node = node.left
        else:
            return node.id if isinstance(node, ast.Name) else ""


def direct_writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    temporaries = _atomic_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            mode = (
                node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
            )
            target = _root_name(node.args[0]) if node.args else ""
            if node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("/proc/"):
                continue  # the kernel's counters (/proc/self/clear_refs), not a file
            writing = isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax+")
            if writing and target not in temporaries:
                found.append(f"{node.lineno}: open(..., {mode.value!r})")
            continue
        if not isinstance(func, ast.Attribute):
            continue
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        if owner == "os" and func.attr in WRITING_OS or owner == "shutil" and func.attr in WRITING_SHUTIL:
            found.append(f"{node.lineno}: {owner}.{func.attr}")
        elif owner not in ("os", "shutil", "files") and func.attr in WRITING_METHODS:
            if _root_name(func.value) not in temporaries:
                found.append(f"{node.lineno}: .{func.attr}")
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if str(p.relative_to(SRC)) not in ALLOWED)


def test_the_rule_sees_a_write(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\nfrom pathlib import Path\nPath('x').write_text('y')\nopen('z', 'wb')\nos.replace('a', 'b')\n"
    )
    good = tmp_path / "good.py"
    good.write_text(
        "from chunkflow.files import atomic_path\nwith atomic_path('x') as tmp:\n    tmp.write_text('y')\nopen('r')\n"
    )
    assert len(direct_writes(bad)) == 3 and direct_writes(good) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_outside_files_writes_a_file(path):
    found = direct_writes(path)
    assert not found, f"{path.relative_to(SRC)} writes files directly (use chunkflow.files): " + "; ".join(found)
