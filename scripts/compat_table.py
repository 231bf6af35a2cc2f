"""The chunkflow 1.2.0 compatibility table: every 1.2.0 command and flag, and its status here.

    python scripts/compat_table.py extract path/to/chunkflow-1.2.0/chunkflow/flow/flow.py > tests/compat/data/flow120.json
    python scripts/compat_table.py table        # the README table (markdown), from that JSON and our click commands

``extract`` reads 1.2.0's ``flow.py`` with :mod:`ast` (nothing of it is imported or copied: only command
names, flag names and defaults). ``table`` looks every 1.2.0 command and flag up in our click commands;
``tests/compat/test_compat_table.py`` checks that the README holds the table this prints.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "compat" / "data" / "flow120.json"

# commands and flags that differ on purpose: (command, flag or None) -> why
DIFFERENT: dict[tuple[str, str | None], str] = {
    ("debug", None): "1.2.0's `debug` only dropped into pdb; use `--log-level debug`",
    ("setup-env", "--channel-num"): "`--channel-num` only: 1.2.0 gave `-c` to it and to `--crop-chunk-margin`, which won",
    ("setup-env", "--visibility-timeout"): "accepted, not used: workers extend their leases while a task runs",
    ("downsample", "--factor"): "default `1 2 2` (anisotropic EM: z is not downsampled), 1.2.0 used `2 2 2`",
    ("downsample-upload", "--factor"): "default `1 2 2` (anisotropic EM), 1.2.0 used `2 2 2`",
    ("generate-tasks", "--disbatch/--no-disbatch"): "disBatch task files are not written; `-f FILE` writes the boxes",
    (
        "generate-tasks",
        "--use-https/--use-credential",
    ): "cloud-volume picks credentials from the URL; use `https://` URLs",
    ("generate-tasks", "--respect-chunk-size/--respect-stop"): "tasks keep the chunk size and stop at the region edge",
    ("save-h5", "--compression"): "default `none` (gzip costs seconds per float chunk); `-c gzip` writes 1.2.0's files",
    (
        "save-precomputed",
        "--fill-missing/--no-fill",
    ): "accepted, no effect: writes are block-aligned, so no missing block is read",
    (
        "crop-margin",
        "--crop-bbox/--no-crop-bbox",
    ): "sets the task's box to the cropped chunk's (1.2.0 computed it and dropped it)",
    (
        "load-skeleton",
        "--output-name",
    ): "`--output-name` only: 1.2.0 gave `-o` to both this and `--offset`; `-o` is the offset",
    ("mask-out-objects", "--output_chunk_name"): "1.2.0 spelled it with underscores; `--output-chunk-name`/`-o` here",
    ("napari", None): "needs `pip install napari`; without it the command says so (use `neuroglancer`)",
}


def _value(node: ast.AST | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError):
        return ast.unparse(node)


def extract(flow_py: str) -> dict[str, list[dict[str, Any]]]:
    tree = ast.parse(Path(flow_py).read_text())
    commands: dict[str, list[dict[str, Any]]] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        name, options = None, []
        for deco in node.decorator_list:
            if not isinstance(deco, ast.Call):
                continue
            func = ast.unparse(deco.func)
            if func == "main.command":
                name = _value(deco.args[0]) if deco.args else node.name.replace("_", "-")
            elif func == "click.option":
                decls = [a for a in (_value(arg) for arg in deco.args) if isinstance(a, str)]
                kw = {
                    k.arg: _value(k.value)
                    for k in deco.keywords
                    if k.arg in ("default", "nargs", "type", "is_flag", "required")
                }
                options.append({"decls": decls, **{k: v for k, v in kw.items() if v is not None}})
        if name is not None:
            commands[name] = options
    return commands


def _our_commands() -> dict[str, Any]:
    import click

    from chunkflow.cli import cli

    ctx = click.Context(cli)
    ctx.meta["chunkflow.in_chain"] = True  # 1.2.0's commands are chain operators (``view`` is the in-chain one)
    return {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}


def _flags(command: Any) -> set[str]:
    names: set[str] = set()
    for param in getattr(command, "params", []):
        names.update(param.opts)
        names.update(getattr(param, "secondary_opts", []))
    return names


def status(command: str, decls: list[str] | None, ours: dict[str, Any]) -> str:
    key = decls[0] if decls else None
    why = DIFFERENT.get((command, key)) or DIFFERENT.get((command, key.split("/")[0] if key else None))
    if why:
        return f"different on purpose: {why}"
    if decls is not None and (command, None) in DIFFERENT and command not in ours:
        return "different on purpose (see the command)"
    if command not in ours:
        return "missing"
    if decls is None:
        return "same"
    have = _flags(ours[command]) if ours[command] is not None else set()
    wanted = [d for decl in decls for d in decl.split("/") if d.startswith("-")]
    missing = [d for d in wanted if d not in have]
    return "same" if not missing else f"missing {' '.join(missing)}"


def table() -> str:
    """One row per 1.2.0 command: its status, the flags that are the same here, and the others with why."""
    data = json.loads(DATA.read_text())
    ours = _our_commands()
    lines = ["| 1.2.0 command | here | 1.2.0 flags accepted as they are | 1.2.0 flags that differ, and why |",
             "|---|---|---|---|"]  # fmt: skip
    for command in sorted(data):
        same, other = [], []
        for option in data[command]:
            flag = "/".join(d for d in option["decls"] if d.startswith("--")) or option["decls"][0]
            shorts = [d for d in option["decls"] if not d.startswith("--")]
            shown = f"`{flag}`" + (f" (`{shorts[0]}`)" if shorts else "")
            verdict = status(command, option["decls"], ours)
            if verdict == "same":
                same.append(shown)
            elif verdict != "different on purpose (see the command)":
                other.append(f"{shown}: {verdict}")
        lines.append(f"| `{command}` | {status(command, None, ours)} | {', '.join(same) or '-'} | "
                     f"{'; '.join(other) or '-'} |".replace("|bf16", "\\|bf16"))  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["extract"]:
        json.dump(extract(sys.argv[2]), sys.stdout, indent=1, sort_keys=True)
        print()
    else:
        print(table())
