"""``edgegate init``: a commented starter policy for the models found in a repository.

The file it writes validates as is (a test loads it), so a user starts from something that
runs and edits the budgets, rather than from an empty page.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path


from edgegate.errors import UsageError
from edgegate.formats import FORMATS, format_of, is_model_name
from edgegate.log_output import say
from edgegate.policy.sections import DEFAULT_RECIPES

_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}


def find_models(root: Path) -> list[tuple[str, list[str]]]:
    """(model path, nearby .npz files) for every model under ``root``, sorted."""
    found: list[tuple[str, list[str]]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if any(f.detect(here) for f in FORMATS.values() if not f.suffixes):
            dirnames[:] = []  # a SavedModel's variables/ and assets/ are part of it
            found.append((here.relative_to(root).as_posix(), []))
            continue
        for f in sorted(filenames):
            if is_model_name(f) and not f.endswith("_edgetpu.tflite"):
                found.append(((here / f).relative_to(root).as_posix(), []))
    for i, (path, _) in enumerate(found):
        folder = (root / path).parent
        npz = sorted(p.relative_to(root).as_posix() for p in folder.rglob("*.npz"))[:5]
        found[i] = (path, npz)
    return found


def _name(path: str, taken: set[str]) -> str:
    stem = Path(path).stem if Path(path).suffix else Path(path).name
    parent = Path(path).parent.name
    base = re.sub(
        r"[^A-Za-z0-9_-]+", "-", stem if stem not in ("model", "saved_model") or not parent else parent
    )
    name, n = base or "model", 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _quoted(text: str) -> str:
    """A YAML scalar for any file name: plain when that reads back the same, else JSON-quoted
    (JSON strings are YAML), so a name with ': ', '#' or a leading '*' cannot break the file."""
    import yaml

    plain = re.fullmatch(r"[A-Za-z0-9_./-][A-Za-z0-9_./+-]*", text) and yaml.safe_load(text) == text
    return text if plain else json.dumps(text)


def starter_text(models: list[tuple[str, list[str]]], root: Path) -> str:
    lines = [
        "# EdgeGate policy: what each model must stay within. Reference: docs/policy.md",
        "# Run `edgegate check` before pushing; in CI the GitHub Action runs `edgegate ci`.",
        "version: 1",
        "",
        "defaults:",
        "  # Candidates to build from every model (training-based ones: prune, cluster, qat — see docs).",
        f"  recipes: [{', '.join(r.recipe for r in DEFAULT_RECIPES)}]",
        "  deploy: smallest            # ship the smallest candidate that passes every budget",
        "  budgets:",
        "    vs_base:                  # compared with the same candidate on the PR's base branch",
        "      size: 5%                # fail if a candidate grows more than 5 %",
        "      latency: {max_increase: 20%, level: warn}",
        "",
        "models:",
    ]
    taken: set[str] = set()
    for path, npz in models:
        lines += [f"  - name: {_quoted(_name(path, taken))}", f"    path: {_quoted(path)}"]
        found = format_of(root / path)
        as_is = found is not None and found.measured_as_is
        if as_is and found is not None:  # (found: for the type checker)
            lines.append(f"    # a {found.title} is measured as it is (no recipes)")
        evals = [p for p in npz if "eval" in p or "test" in p or "val" in p] or npz
        calib = [p for p in npz if "calib" in p or "train" in p or "rep" in p]
        if evals:
            lines += [
                "    eval:",
                f"      data: {_quoted(evals[0])}     # arrays x (inputs) and y (labels)",
                "      metric: top1            # top1 | top5 | mae | mse | rmse | fidelity",
            ]
        else:
            lines += [
                "    # eval:                     # add evaluation data to gate accuracy:",
                "    #   data: path/to/eval.npz  # arrays x and y",
                "    #   metric: top1",
            ]
        if calib:
            lines += ["    calibration:", f"      data: {_quoted(calib[0])}", "      samples: 200"]
        elif not evals and not as_is:
            # No data found: int8 still builds (right size, latency, Edge TPU mapping) on random
            # inputs, instead of an error row on the first run.
            lines += [
                "    calibration:",
                "      synthetic: true           # no data found: calibrate on random inputs; replace with",
                "                                # data: path/to/samples.npz for real int8 ranges",
            ]
        lines += [
            "    budgets:",
            "      size: 10 MB               # the candidate that ships must stay under this",
        ]
        if evals:
            lines += ["      accuracy: {max_drop: 1pt}  # at most 1 percentage point below the float model"]
        lines.append("")
    if not models:
        lines += [
            "  - name: my-model",
            "    path: path/to/model.keras   # SavedModel folder, .keras, .h5 or .tflite",
            "    budgets:",
            "      size: 10 MB",
            "",
        ]
    return "\n".join(lines)


def write_starter_policy(repo: Path, output: Path | None, *, force: bool = False) -> tuple[Path, list[str]]:
    root = Path(repo).resolve()
    if not root.is_dir():
        raise UsageError(f"{repo}: not a folder")
    target = Path(output) if output else root / "edgegate.yml"
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; pass --force to overwrite it or -o to write elsewhere")
    models = find_models(root)
    target.write_text(starter_text(models, root), encoding="utf-8")
    return target, [m for m, _ in models]


def init(repo: Path, output: Path | None = None, *, force: bool = False) -> int:
    """Write the starter policy and say what it covers; an existing file without ``force`` propagates."""
    path, found = write_starter_policy(repo, output, force=force)
    # Model paths come from the repository: a newline and "::" in one must not start a command.
    say(f"wrote {path} with {len(found)} model(s): {', '.join(found) or 'none found (edit it)'}")
    return 0
