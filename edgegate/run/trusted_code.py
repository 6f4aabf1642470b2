"""In a pull-request run, a trusted setting runs the base branch's bytes, never the PR's.

``policy/trust.py`` takes the settings that run code from the base branch's policy; this module
makes sure the code they run is the base branch's too (its head, ``ChangeSet.trusted_sha``):

- a **hook** (dataset or ``training.hook``) imports Python from the repository, with the
  repository root first on ``sys.path``: the hook's module, whatever it imports, and any module
  of the repository that shadows an installed one (a PR's ``numpy.py``). So a hook runs only when
  the PR leaves every file Python could import as the base branch has it; otherwise the model is
  refused, naming the files. (Importing from an export of the base's Python files instead would
  break hooks that read data next to their module, the usual way to find it.)
- ``trust_code`` trusts the base branch's bytes of that model: a PR that changes the model's files,
  or points the model at another path, gets it loaded in safe mode, and a note says so.
- an ``edgetpu.compiler`` path runs the base branch's blob of that file, exported to a private
  folder (``pin_compilers``); a script there finds none of the PR's files beside it.
"""

from __future__ import annotations

import importlib.machinery
import posixpath
from dataclasses import replace
from pathlib import Path, PurePosixPath

from edgegate.changes.interface import ChangedModel, ChangeSource, PathChange
from edgegate.changes.select import listed_paths
from edgegate.errors import EdgeGateError
from edgegate.policy.names import printable
from edgegate.policy.sections import ModelPolicy, Policy
from edgegate.policy.trust import TRUST_DOC
from edgegate.run.plan import ModelPlan
from edgegate.targets import PlacedTarget
from edgegate.targets.edgetpu.target import EdgeTpuTarget

# What the import system loads from a folder on sys.path: sources, bytecode, extension modules;
# .pth and archives only when something adds them to the path (base code may).
IMPORTABLE = (*importlib.machinery.all_suffixes(), ".pyw", ".pyo", ".pth", ".pyz", ".egg", ".whl")


def importable(path: str) -> bool:
    """Whether Python could import ``path`` (a repository-relative file) as code."""
    return path.lower().endswith(IMPORTABLE) or "__pycache__" in PurePosixPath(path).parts


def pin_to_base(
    changed: list[ChangedModel], base: Policy | None, paths: list[PathChange]
) -> tuple[list[ChangedModel], list[str]]:
    """``changed`` with hooks refused and ``trust_code`` dropped where the PR changed the code
    they would run. ``base`` is the base branch head's policy, ``paths`` what the PR changes
    against that head; the notes say what was turned off."""
    touched = sorted({p for c in paths for p in (c.path, c.old_path) if p})
    python = [p for p in touched if importable(p)]
    trusted = {m.name: m for m in base.models} if base is not None else {}
    out, notes = [], []
    for ch in changed:
        model, said = _pinned(
            ch.target.model, ch.target.path, trusted.get(ch.target.model.name), touched, python
        )
        notes += said
        out.append(replace(ch, target=replace(ch.target, model=model)))
    return out, notes


def _pinned(
    model: ModelPolicy, path: str, base: ModelPolicy | None, touched: list[str], python: list[str]
) -> tuple[ModelPolicy, list[str]]:
    notes: list[str] = []
    hooks = _hook_keys(model)
    if hooks and python and model.refused is None:
        model = replace(
            model,
            refused=(
                f"model {model.name!r}: {', '.join(hooks)} would import this pull request's Python: it changes "
                f"{listed_paths(python)}, and a hook imports from the whole repository. In a pull-request run a "
                f"hook runs only the base branch's code ({TRUST_DOC}); land the Python changes on the base "
                "branch first, or gate this change without the hook."
            ),
        )
    if model.trust_code:
        own = [p for p in touched if p == path or p.startswith(path + "/")]
        if base is None or base.path != model.path:
            why = f"this pull request points {model.key}.path at {model.path!r}"
        elif own:
            why = f"this pull request changes {listed_paths(own)}"
        else:
            return model, notes
        notes.append(
            f"model {model.name!r}: {why}, and trust_code trusts only the base branch's bytes of the model: "
            f"{printable(path)} is loaded in safe mode (a Lambda layer or custom object is refused) ({TRUST_DOC})"
        )
        model = replace(model, trust_code=False)
    return model, notes


def runs_code(model: ModelPolicy) -> bool:
    """Whether a model's (trusted) settings run repository code: a hook or ``trust_code``."""
    return model.refused is None and (model.trust_code or bool(_hook_keys(model)))


def _hook_keys(model: ModelPolicy) -> list[str]:
    sections = [model.eval, model.calibration, model.training]
    keys = [f"{s.data.key}.hook" for s in sections if s is not None and s.data is not None and s.data.hook]
    if model.training is not None and model.training.hook:
        keys.append(f"{model.training.key}.hook")
    return keys


def pin_compilers(
    plans: list[ModelPlan], repo: ChangeSource, sha: str, folder: Path
) -> tuple[list[ModelPlan], list[str]]:
    """Each Edge TPU target whose compiler is a repository path runs that path's blob at ``sha``
    (the base branch's head), exported below ``folder``; one that cannot be exported falls back to
    ``auto``, said so. Programs outside the repository (absolute paths) are left as they are."""
    why_not: dict[str, str | None] = {}  # setting → None when exported, else why it could not be
    notes: list[str] = []
    out = []
    for plan in plans:
        placed = []
        for p in plan.targets:
            target = p.target
            if isinstance(target, EdgeTpuTarget) and (rel := _repository_program(target.settings.compiler)):
                setting = target.settings.compiler
                if setting not in why_not:
                    why_not[setting] = _export(repo, sha, rel, folder)
                    if why_not[setting] is not None:
                        notes.append(
                            f"edgetpu.compiler {setting!r}: {why_not[setting]}; using 'auto' ({TRUST_DOC})"
                        )
                if why_not[setting] is None:  # find_compiler resolves the setting below the export
                    target = replace(target, root=folder)
                else:
                    target = replace(target, settings=replace(target.settings, compiler="auto"))
                p = PlacedTarget(target, p.place)
            placed.append(p)
        out.append(replace(plan, targets=tuple(placed)))
    return out, notes


def _repository_program(setting: str) -> str | None:
    """The repository-relative path a compiler setting names, None for auto/static/outside paths."""
    if setting in ("auto", "static") or Path(setting).expanduser().is_absolute():
        return None
    return posixpath.normpath(setting)


def _export(repo: ChangeSource, sha: str, rel: str, folder: Path) -> str | None:
    """Export the compiler ``rel`` names at ``sha`` into ``folder``; None, or why it could not be."""
    if rel.startswith("../") or rel == "..":
        return f"{printable(rel)} leaves the repository, so its bytes are not the base branch's to vouch for"
    if not repo.exists_at(sha, rel):
        return f"{printable(rel)} does not exist at the base branch's head {sha[:12]}, so no trusted version runs"
    try:
        repo.export(sha, rel, folder)
    except EdgeGateError as e:
        return f"the base branch's version cannot be exported ({e})"
    return None
