"""Validated schema values (pydantic) turned into the frozen values of ``sections.py``.

Field names are the same on both sides, so each value is copied field by field from the
schema's declaration: a key added to the schema but not to its section fails at once here
(unexpected argument), not silently downstream. Quantities are parsed to numbers here.
Where a section was written (key, line) is the caller's to say: this module never sees YAML.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from edgegate import units as q
from edgegate.policy import schema
from edgegate.status import Level
from edgegate.policy.sections import (
    Calibration,
    ClusterOptions,
    Contract,
    OpsContract,
    Dataset,
    EdgeTpuSettings,
    Eval,
    Int8Options,
    Int16x8Options,
    KeepFloatSearch,
    LatencySettings,
    Metric,
    PruneOptions,
    QatOptions,
    Recipe,
    Training,
)

T = TypeVar("T")


def _copy(spec: BaseModel, section: type[T], **given: Any) -> T:
    values = {name: getattr(spec, name) for name in type(spec).model_fields}
    return section(**{**values, **given})


def recipe(
    spec: schema.RecipeSpec,
    *,
    keep_float_key: str = "keep_float",
    keep_float_lines: tuple[int | None, ...] = (),
) -> Recipe:
    return _copy(
        spec,
        Recipe,
        keep_float=tuple(spec.keep_float),
        keep_float_key=keep_float_key,
        keep_float_lines=keep_float_lines,
        int8=_copy(spec.int8, Int8Options),
        int16x8=_copy(spec.int16x8, Int16x8Options),
        prune=_copy(spec.prune, PruneOptions),
        cluster=_copy(spec.cluster, ClusterOptions),
        qat=_copy(spec.qat, QatOptions),
    )


def dataset(spec: schema.DatasetSpec, *, key: str, line: int | None) -> Dataset:
    return _copy(spec, Dataset, key=key, line=line, y_key_written="y_key" in spec.model_fields_set)


def metric(spec: schema.MetricSpec) -> Metric:
    return _copy(spec, Metric)


def evaluation(spec: schema.EvalSpec, *, key: str, line: int | None, data_line: int | None) -> Eval:
    return _copy(
        spec,
        Eval,
        key=key,
        line=line,
        data=dataset(spec.data, key=f"{key}.data", line=data_line),
        metric=metric(spec.metric),
    )


def calibration(
    spec: schema.CalibrationSpec, *, key: str, line: int | None, data_line: int | None
) -> Calibration:
    data = dataset(spec.data, key=f"{key}.data", line=data_line) if spec.data is not None else None
    return _copy(spec, Calibration, key=key, line=line, data=data)


def training(spec: schema.TrainingSpec, *, key: str, line: int | None, data_line: int | None) -> Training:
    data = dataset(spec.data, key=f"{key}.data", line=data_line) if spec.data is not None else None
    return _copy(spec, Training, key=key, line=line, data=data)


def edgetpu(
    spec: schema.EdgeTpuSpec, *, key: str, line: int | None, key_lines: tuple[tuple[str, int], ...] = ()
) -> EdgeTpuSettings:
    raw = spec.min_mapped
    return _copy(
        spec,
        EdgeTpuSettings,
        key=key,
        line=line,
        key_lines=key_lines,
        min_mapped=q.parse_accuracy(raw) if raw is not None else None,
        min_mapped_written=str(raw) if raw is not None else None,
    )


def keep_float_search(spec: schema.KeepFloatSearchSpec, *, key: str, line: int | None) -> KeepFloatSearch:
    return _copy(spec, KeepFloatSearch, key=key, line=line)


def latency(spec: schema.LatencySpec, *, key: str, line: int | None) -> LatencySettings:
    return _copy(spec, LatencySettings, key=key, line=line)


def contract(
    spec: schema.ContractSpec, *, key: str, line: int | None, signature_line: int | None, ops_line: int | None
) -> Contract:
    ops = spec.ops
    return Contract(
        key=key,
        line=line,
        signature=spec.signature,
        signature_line=signature_line,
        ops=None
        if ops is None
        else OpsContract(
            key=f"{key}.ops",
            line=ops_line,
            allowed=tuple(ops.allowed) if ops.allowed is not None else None,
            no_new_kinds=ops.no_new_kinds,
            level=Level(ops.level),
        ),
    )
