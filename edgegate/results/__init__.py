"""The results file: what one run found, as typed values (``model``) and as versioned JSON (``codec``).

This is the contract between the run and everything downstream: the markdown report,
``edgegate publish`` and ``edgegate merge``, CI annotations.
"""

from edgegate.results.codec import (
    SCHEMA,
    ResultsFileError,
    decode_run,
    encode_run,
    read_results,
    write_results,
)
from edgegate.results.model import (
    NO_CHANGE_NOTE,
    Accuracy,
    BaseFigures,
    CandidateResult,
    GitRef,
    LayerError,
    ModelResult,
    RunResult,
    TrainingFigures,
)

__all__ = [
    "NO_CHANGE_NOTE",
    "SCHEMA",
    "Accuracy",
    "BaseFigures",
    "CandidateResult",
    "GitRef",
    "LayerError",
    "ModelResult",
    "ResultsFileError",
    "RunResult",
    "TrainingFigures",
    "decode_run",
    "encode_run",
    "read_results",
    "write_results",
]
