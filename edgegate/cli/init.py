"""``edgegate init``: a commented starter policy for the models found in a repository.

The file it writes validates as is (a test loads it), so a user starts from something that
runs and edits the budgets, rather than from an empty page.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path


from edgegate.errors import UsageError
from edgegate.log_output import say
from edgegate.formats import ModelKind, find_model_paths, format_named, model_kind
from edgegate.policy.names import name_problem
from edgegate.units import format_bytes


# A proposed size budget leaves this much room above the model's current size (docs/policy.md).
SIZE_HEADROOM = 0.10
# What candidates are built from a source without a .tflite: the starter's proposal.
CONVERTED_RECIPES = ("float16", "dynamic", "int8")


@dataclass(frozen=True)
class FoundModel:
    path: str  # repository-relative
    kind: ModelKind
    size_bytes: int  # the file, or every file of a SavedModel folder
    integer: bool  # a .tflite computing on 8-bit tensors (what the Edge TPU runs)
    data: tuple[str, ...] = ()  # .npz files beside it
    recipes: tuple[str, ...] | None = None  # a .tflite's: what its weights can take; None: by kind


def proposed_recipes(kind: ModelKind) -> tuple[str, ...]:
    """The recipes that apply to a model of this kind (a .tflite's depend on its weights: none here)."""
    return () if format_named(kind).measured_as_is else CONVERTED_RECIPES


def _tflite_recipes(path: Path) -> tuple[str, ...] | None:
    """The LiteRT Quantizer's recipes a .tflite's weights can take (none for an integer model;
    None when it cannot be read)."""
    from edgegate.errors import InputError
    from edgegate.recipes.quantizer_proposals import proposals

    try:
        return proposals(path)
    except InputError:  # not a readable .tflite: `check` says so
        return None


def find_models(root: Path) -> list[FoundModel]:
    """Every model under ``root``, sorted, with its kind, size and the .npz files near it."""
    found = []
    for path in find_model_paths(root):
        full = root / path
        kind = model_kind(full)
        if kind is None:
            continue
        folder = full.parent
        npz = tuple(sorted(p.relative_to(root).as_posix() for p in folder.rglob("*.npz"))[:5])
        size = (
            sum(p.stat().st_size for p in full.rglob("*") if p.is_file())
            if full.is_dir()
            else full.stat().st_size
        )
        as_is = format_named(kind).measured_as_is
        recipes = _tflite_recipes(full) if as_is else None
        found.append(FoundModel(path, kind, size, as_is and _integer(full), npz, recipes))
    return found


def _integer(path: Path) -> bool:
    from edgegate.targets.flatbuffer import read_tflite
    from edgegate.targets.edgetpu.rules import computes_in_eight_bit
    from edgegate.errors import InputError

    try:
        return computes_in_eight_bit(read_tflite(path))
    except InputError:  # not a readable .tflite: `check` says so; the starter proposes no Edge TPU
        return False


def _name(path: str, taken: set[str]) -> str:
    """The file's own name (``mobilenet_v1_0.25``), as the policy allows any visible name."""
    stem = Path(path).stem if Path(path).suffix else Path(path).name
    parent = Path(path).parent.name
    base = stem if stem not in ("model", "saved_model") or not parent else parent
    if name_problem(base):
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-") or "model"
    name, n = base, 2
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


def _size_budget(size_bytes: int) -> str:
    """The current size plus ``SIZE_HEADROOM``, rounded up to a whole KB."""
    return f"{math.ceil(size_bytes * (1 + SIZE_HEADROOM) / 1000)} KB"


HEADER = [
    "# EdgeGate policy: what each model must stay within. Reference: docs/policy.md",
    "# Run `edgegate check --all` to gate every model now; `edgegate check` gates what a change touched.",
    "version: 1",
    "",
    "defaults:",
    "  budgets:",
    "    vs_base:                  # compared with the same candidate on the PR's base branch",
    "      size: 5%                # fail if a candidate grows more than 5 %",
    "      latency: {max_increase: 20%, level: warn}",
    "",
    "models:",
]


def _model_lines(model: FoundModel, taken: set[str]) -> list[str]:
    lines = [f"  - name: {_quoted(_name(model.path, taken))}", f"    path: {_quoted(model.path)}"]
    recipes = proposed_recipes(model.kind) if model.recipes is None else model.recipes
    if recipes and model.recipes is not None:
        lines += [
            f"    recipes: [{', '.join(recipes)}]   # the LiteRT Quantizer's, on the float file (docs/quantizer.md)",
            "    deploy: smallest          # ship the smallest candidate that passes (the file itself too)",
        ]
    elif recipes:
        lines += [
            f"    recipes: [{', '.join(recipes)}]   # candidates to build (training-based ones: see docs)",
            "    deploy: smallest          # ship the smallest candidate that passes every budget",
        ]
    elif model.recipes is not None:
        lines.append(
            f"    # an integer {format_named(model.kind).title}: measured as it is, nothing to quantize"
        )
    else:
        lines.append(
            f"    # a {format_named(model.kind).title} is measured as it is: no recipe applies to it"
        )
    evals = [p for p in model.data if "eval" in p or "test" in p or "val" in p] or list(model.data)
    calib = [p for p in model.data if "calib" in p or "train" in p or "rep" in p]
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
    if calib and recipes:
        lines += ["    calibration:", f"      data: {_quoted(calib[0])}", "      samples: 200"]
    elif not evals and recipes:
        # No data found: int8 still builds (right size, latency, Edge TPU mapping) on random
        # inputs, instead of an error row on the first run.
        lines += [
            "    calibration:",
            "      synthetic: true           # no data found: calibrate on random inputs; replace with",
            "                                # data: path/to/samples.npz for real int8 ranges",
        ]
    now = format_bytes(model.size_bytes)
    lines += [
        "    budgets:",
        f"      size: {_size_budget(model.size_bytes)}   # now {now} on disk, {SIZE_HEADROOM:.0%} headroom",
    ]
    if evals:
        lines += ["      accuracy: {max_drop: 1pt}  # at most 1 percentage point below the float model"]
    if model.integer:
        lines += [
            "    edgetpu: {level: warn}     # an integer model: say when it stops compiling for the Coral",
            "                               # Edge TPU (level: error to fail the gate)",
        ]
    lines.append("")
    return lines


def starter_text(models: list[FoundModel]) -> str:
    lines = list(HEADER)
    taken: set[str] = set()
    for model in models:
        lines += _model_lines(model, taken)
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
    target.write_text(starter_text(models), encoding="utf-8")
    return target, [m.path for m in models]


def init(repo: Path, output: Path | None = None, *, force: bool = False) -> int:
    """Write the starter policy and say what it covers; an existing file without ``force`` propagates."""
    path, found = write_starter_policy(repo, output, force=force)
    # Model paths come from the repository: a newline and "::" in one must not start a command.
    say(f"wrote {path} with {len(found)} model(s): {', '.join(found) or 'none found (edit it)'}")
    return 0
