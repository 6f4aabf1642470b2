"""What a run will gate: each changed model with its sources on disk, before any job runs.

``ModelPlan`` is one changed model: its policy, where its head and base versions were
materialized, whether the base is byte-identical to head (its figures are then head's), and
the notes or the error found while preparing it. A model that cannot be read gets its error
here and is reported; the others are still gated.
"""

from __future__ import annotations

import difflib
import filecmp
from dataclasses import dataclass, replace
from pathlib import Path

from edgegate.changes.interface import ChangedModel
from edgegate.changes.select import ModelMaterializer
from edgegate.errors import EdgeGateError, InputError
from edgegate.exception_text import first_line
from edgegate.conversions import reference_name
from edgegate.formats import FORMATS, find_model_paths, format_of
from edgegate.formats.interface import Reference
from edgegate.policy.sections import Eval, Metric, ModelPolicy
from edgegate.recipes.interface import SourceModel
from edgegate.run.jobs import AS_IS, ModelRef
from edgegate.targets import PlacedTarget, targets_for


@dataclass(frozen=True)
class ModelPlan:
    ref: ModelRef
    policy: ModelPolicy
    change: str  # added | modified | renamed | moved | requested
    head_path: str  # repository-relative
    base_path: str | None
    work: Path  # this model's own work folder
    head: SourceModel | None = None
    base: SourceModel | None = None
    base_same: bool = False  # the base version holds the same bytes: its figures are head's
    error: str | None = None  # the model cannot be gated at all
    base_error: str | None = None  # the model existed at base, but that version cannot be read
    notes: tuple[str, ...] = ()
    targets: tuple[PlacedTarget, ...] = ()
    policy_file: str = "edgegate.yml"  # its display path: where messages about the policy point

    @property
    def measured_as_is(self) -> bool:
        """Its head is a format nothing converts (a .tflite): its own only candidate."""
        return self.head is not None and self.head.format.measured_as_is

    @property
    def quantizes(self) -> bool:
        """Its head is a .tflite the policy wrote recipes for: the LiteRT Quantizer makes candidates."""
        return (
            self.measured_as_is
            and self.policy.recipes_written
            and not self.policy.auto
            and bool(self.policy.recipes)
        )

    @property
    def evaluation(self) -> Eval | None:
        """What its candidates are evaluated on: the policy's ``eval``; for a .tflite the quantizer
        makes candidates of and no eval set, label-free fidelity to the file on its calibration data
        (every output compared, so multi-output models are gated too)."""
        policy = self.policy
        if policy.eval is not None or not self.quantizes:
            return policy.eval
        calibration = policy.calibration
        if calibration is None or calibration.data is None:
            return None
        return Eval(
            key=calibration.key, line=calibration.line, data=calibration.data, metric=Metric(name="fidelity")
        )

    @property
    def reference_label(self) -> str | None:
        """The float model accuracy drops are measured against: the float32 conversion; for a
        .tflite source the file itself when the quantizer makes candidates of it, else none."""
        if self.head is not None and self.head.format.reference is Reference.NONE:
            return AS_IS if self.measured_as_is and self.quantizes else None
        return reference_name()

    def source(self, side: str) -> SourceModel | None:
        return self.head if side == "head" else self.base

    def shown(self, side: str, label: str) -> str:
        """How messages name a candidate: a .tflite source's repository path, else "model (recipe)"."""
        if label == AS_IS:
            source = self.source(side)
            return source.display if source else self.head_path
        return f"{self.ref.name} ({label}{', base' if side == 'base' else ''})"


def source_model(path: Path, display: str, trust: bool) -> SourceModel:
    """Check that ``path`` is a model EdgeGate can read; ``InputError`` naming it otherwise.

    (LFS pointers and symlink escapes were refused already by the ``ModelMaterializer``.)"""
    if not path.exists():
        raise InputError(f"{display}: no such file or folder")
    found = format_of(path)
    if found is None:
        if path.is_dir():
            raise InputError(f"{display}: a folder without saved_model.pb is not a SavedModel")
        raise InputError(f"{display}: unknown model format {path.suffix!r}; EdgeGate reads {_readable()}")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{display}: the file is empty")
    return SourceModel(path=path, kind=found.name, display=display, trust_code=trust)


def _readable() -> str:
    """The registered formats as a sentence: "SavedModel folders, .keras, .h5 and .tflite files"."""
    folders = [f"{f.title} folders" for f in FORMATS.values() if not f.suffixes]
    files = [f.title for f in FORMATS.values() if f.suffixes]
    names = folders + files
    text = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return text + (" files" if files else "")


def same_content(a: Path, b: Path) -> bool:
    """Whether two models (files or SavedModel folders) hold the same bytes."""
    if a.is_file() and b.is_file():
        return filecmp.cmp(a, b, shallow=False)
    if a.is_dir() and b.is_dir():
        files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
        return files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)
    return False


def _missing_path(planned: ModelPlan, root: Path) -> str:
    """A model whose path names nothing: a typo in the policy, said at its line with the nearest
    model the repository has (an input error: the model could not be gated, it did not fail)."""
    model = planned.policy
    where = f"{planned.policy_file}:{model.path_line}: " if model.path_line else f"{planned.policy_file}: "
    near = difflib.get_close_matches(planned.head_path, find_model_paths(root), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else "; no model in the repository has a similar path"
    return f"{where}{model.key}.path: {planned.head_path!r}: no such file or folder{hint}"


def plan_model(
    ref: ModelRef,
    changed: ChangedModel,
    materializer: ModelMaterializer,
    work: Path,
    policy_file: str = "edgegate.yml",
) -> ModelPlan:
    """Materialize one changed model's versions; errors belong to this model only."""
    target = changed.target
    planned = ModelPlan(
        ref=ref,
        policy=target.model,
        change=changed.change,
        head_path=target.path,
        base_path=changed.base_path,
        work=work,
        targets=targets_for(target.model, materializer.repo.root),
        policy_file=policy_file,
    )
    try:
        return _materialized(planned, changed, materializer)
    except (OSError, UnicodeError) as e:
        # The file system refused this model's files (a name too long, an unreadable folder):
        # its problem, recorded on it; the other models are still gated.
        filename = getattr(e, "filename", None)
        said = f"{filename}: " if filename else ""
        error = f"{target.path}: cannot read it ({said}{first_line(e)})"
        return replace(planned, error=error, notes=changed.reasons)


def _materialized(planned: ModelPlan, changed: ChangedModel, materializer: ModelMaterializer) -> ModelPlan:
    target = changed.target
    model = target.model
    notes = list(changed.reasons)
    if model.refused:
        return replace(planned, error=model.refused, notes=tuple(notes))
    try:
        head_file = materializer.head(target.path)
        if not head_file.exists():
            return replace(planned, error=_missing_path(planned, materializer.repo.root), notes=tuple(notes))
        head = source_model(head_file, target.path, model.trust_code)
    except EdgeGateError as e:
        return replace(planned, error=str(e), notes=tuple(notes))
    base = None
    base_error = None
    if changed.base_path is not None:
        try:
            base = source_model(
                materializer.base(changed.base_path), f"{changed.base_path} (base)", model.trust_code
            )
        except EdgeGateError as e:
            base_error = str(e)
            notes.append(f"base version not measured: {e}")
    base_same = base is not None and same_content(head.path, base.path)
    policy = planned.policy
    if head.format.measured_as_is:
        try:  # its recipes run on the LiteRT Quantizer (the policy checked a path naming a .tflite)
            policy = replace(model, recipes=model.recipes_for_tflite())
            notes += model.recipes_not_for_tflite()
        except ValueError as e:
            return replace(
                planned, error=f"{planned.policy_file}: {model.key}.recipes: {e}", notes=tuple(notes)
            )
        if (
            policy.recipes
            and policy.eval is None
            and (policy.calibration is None or policy.calibration.data is None)
        ):
            notes.append(
                "fidelity to the float .tflite not measured: the policy gives no eval or calibration "
                "data to compare the quantized candidates on (synthetic inputs are no evidence)"
            )
        if not policy.recipes:
            notes.append(
                f"{head.format.title} sources are measured as they are unless the policy lists their "
                "recipes (the LiteRT Quantizer's: docs/quantizer.md)"
            )
    return replace(
        planned,
        policy=policy,
        head=head,
        base=base,
        base_same=base_same,
        base_error=base_error,
        notes=tuple(notes),
    )
