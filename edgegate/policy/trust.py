"""Which side of a pull request may switch on settings that run code.

In a pull-request run the PR's policy file is the PR author's: it supplies the models, recipes
and budgets, but every setting that runs code or names a program comes from the trusted side
— the base branch's version of the policy (or the workflow's inputs):

- ``trust_code`` (Keras Lambda layers / custom objects run model code),
- dataset ``hook:``s and ``training.hook`` (run repository Python),
- ``edgetpu.compiler`` as a path (runs that program).

A setting the PR adds is turned off for the run, and said so: a hook the base does not have
makes that model an input error (its data cannot be read without running the PR's code);
``trust_code`` falls back to safe loading; a compiler path falls back to the base's setting.

"The base branch's version" is the one at the base branch's head, never at the merge base (the
PR's author picks that). That a kept setting also runs the base's code, not the PR's edit of it,
is ``edgegate.run.trusted_code``'s part.
"""

from __future__ import annotations

from dataclasses import replace

from edgegate.policy.sections import Dataset, EdgeTpuSettings, ModelPolicy, Policy

TRUST_DOC = "docs/security.md"


def restrict_to_trusted(head: Policy, base: Policy | None) -> tuple[Policy, tuple[str, ...]]:
    """``head`` with its code-running settings taken from ``base`` (None: the base has no policy)."""
    trusted = {m.name: m for m in base.models} if base is not None else {}
    models, notes = [], []
    for model in head.models:
        restricted, said = _restrict(model, trusted.get(model.name))
        models.append(restricted)
        notes += said
    return replace(head, models=tuple(models)), tuple(notes)


def _restrict(model: ModelPolicy, base: ModelPolicy | None) -> tuple[ModelPolicy, list[str]]:
    notes: list[str] = []
    refused: list[str] = []
    where = f"model {model.name!r}"
    trust_code = model.trust_code and base is not None and base.trust_code
    if model.trust_code and not trust_code:
        notes.append(
            f"{where}: {model.key}.trust_code comes from this pull request, not the base branch's policy: "
            f"the model is loaded in safe mode ({TRUST_DOC})"
        )
    for section, data in _datasets(model):
        if data is not None and data.hook and data.hook != _base_hook(base, section):
            refused.append(f"{data.key}.hook ({data.hook!r})")
    if model.training is not None and model.training.hook:
        if base is None or base.training is None or base.training.hook != model.training.hook:
            refused.append(f"{model.training.key}.hook ({model.training.hook!r})")
    edgetpu = model.edgetpu
    if _names_a_program(edgetpu) and (base is None or base.edgetpu.compiler != edgetpu.compiler):
        fallback = (
            base.edgetpu.compiler if base is not None and not _names_a_program(base.edgetpu) else "auto"
        )
        notes.append(
            f"{where}: {edgetpu.key}.compiler {edgetpu.compiler!r} names a program and comes from this pull "
            f"request: using {fallback!r} ({TRUST_DOC})"
        )
        edgetpu = replace(edgetpu, compiler=fallback)
    refusal = None
    if refused:
        refusal = (
            f"{where}: {', '.join(refused)} would run this pull request's code; in a pull-request run only "
            f"the base branch's policy may set hooks ({TRUST_DOC}). Land the hook on the base branch first."
        )
    return replace(model, trust_code=trust_code, edgetpu=edgetpu, refused=refusal), notes


def _datasets(model: ModelPolicy) -> list[tuple[str, Dataset | None]]:
    return [
        ("eval", model.eval.data if model.eval else None),
        ("calibration", model.calibration.data if model.calibration else None),
        ("training", model.training.data if model.training else None),
    ]


def _base_hook(base: ModelPolicy | None, section: str) -> str | None:
    if base is None:
        return None
    data = dict(_datasets(base))[section]
    return data.hook if data is not None else None


def _names_a_program(settings: EdgeTpuSettings) -> bool:
    return settings.compiler not in ("auto", "static")
