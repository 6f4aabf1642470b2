"""Arm's Vela compiler, driven from the outside: its bundled configurations, one run, its outputs.

Everything Vela-specific that ``ethos_u.py`` needs and that does not depend on EdgeGate's
checks lives here, so a change in Vela's output formats is one module to read.

Facts this module relies on (Vela 5.2.0, checked by tests/targets/test_ethos_u.py):

- ``python -m ethosu.vela`` is the CLI; ``--config Arm/vela.ini`` names the bundled
  configuration file, which defines the ``System_Config.*`` and ``Memory_Mode.*`` sections
  ``--system-config`` and ``--memory-mode`` select. Vela accepts any system config for any
  accelerator (an Ethos-U55 compiled with ``Ethos_U65_High_End`` timings), so EdgeGate checks
  the family itself; a memory mode whose arena lands on flash fails inside Vela with a
  traceback, so that is checked here first too (the same rules as Vela's
  ``ArchitectureFeatures``).
- A run writes ``<stem>_vela.tflite`` (NPU work replaced by ``ethos-u`` custom ops, CPU ops
  left as TFLite ops) and ``<stem>_summary_<system config>.csv`` (one header row, one data
  row: memory used per area in KiB, ``inference_time`` in seconds, cycle counts).
- Each op Vela leaves on the CPU for a reason prints, on stdout::

      Warning (supported operators) operator: AVERAGE_POOL_2D, ofm: 'AvgPool2D'
      Reason: kernel width: 9 out of range
      Kernel constraints: ...

- Errors are Python tracebacks on stderr (``RuntimeError: Compilation failed: ...``); a
  flatbuffer Vela's verifier rejects prints ``Failed to load TfLite model`` and then crashes
  with SIGSEGV, which is why Vela always runs in a child process.
"""

from __future__ import annotations

import configparser
import csv
import importlib.metadata
import importlib.util
import io
import math
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgegate.errors import EdgeGateError
from edgegate.targets.child_process import child_env, run_child

DISTRIBUTION = "ethos-u-vela"
CUSTOM_CODE = "ethos-u"  # the custom op Vela replaces each NPU subgraph with

# Vela 5.2's --accelerator-config choices (its argparse list); a newer Vela may add more.
ACCELERATORS = (
    "ethos-u55-32",
    "ethos-u55-64",
    "ethos-u55-128",
    "ethos-u55-256",
    "ethos-u65-256",
    "ethos-u65-512",
    "ethos-u85-128",
    "ethos-u85-256",
    "ethos-u85-512",
    "ethos-u85-1024",
    "ethos-u85-2048",
)
# What Vela itself picks when --system-config / --memory-mode are left out (it then prints
# "Compilation may be invalid or non-optimal"); EdgeGate always passes them explicitly.
DEFAULT_SYSTEM_CONFIG = {
    "U55": "Ethos_U55_High_End_Embedded",
    "U65": "Ethos_U65_Client_Server",
    "U85": "Ethos_U85_SYS_DRAM_Mid",
}
DEFAULT_MEMORY_MODE = {"U55": "Shared_Sram", "U65": "Dedicated_Sram_384KB", "U85": "Dedicated_Sram_384KB"}
OPTIMISE = ("Performance", "Size")


class VelaError(EdgeGateError):
    """Vela is missing, failed, timed out or wrote output EdgeGate cannot read (names what was expected)."""


def family(accelerator: str) -> str:
    """``"ethos-u55-128"`` → ``"U55"``."""
    m = re.fullmatch(r"ethos-(u\d\d)-\d+", accelerator)
    if not m:
        raise ValueError(f"not an Ethos-U accelerator name: {accelerator!r}")
    return m.group(1).upper()


def display_name(accelerator: str) -> str:
    """``"ethos-u55-128"`` → ``"Ethos-U55-128"``, as Arm writes it."""
    return "Ethos-" + accelerator.removeprefix("ethos-").upper()


def vela_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise VelaError(_missing()) from None


def _missing() -> str:
    return f"Arm's Vela compiler is not installed; install it with: pip install {DISTRIBUTION}"


# --- the bundled vela.ini ---------------------------------------------------------------------


def bundled_ini() -> Path:
    """Vela's own ``config_files/Arm/vela.ini`` (found without importing Vela's native core)."""
    spec = importlib.util.find_spec("ethosu")
    roots = list(spec.submodule_search_locations or ()) if spec is not None else []
    for root in roots:
        path = Path(root) / "config_files" / "Arm" / "vela.ini"
        if path.is_file():
            return path
    raise VelaError(_missing() + " (no ethosu/config_files/Arm/vela.ini found)")


@dataclass(frozen=True)
class VelaConfigs:
    """The sections of a Vela configuration file, ``inherit=`` resolved."""

    system_configs: dict[str, dict[str, str]]  # "Ethos_U55_High_End_Embedded" → its keys
    memory_modes: dict[str, dict[str, str]]  # "Shared_Sram" → its keys

    def for_family(self, fam: str) -> tuple[str, ...]:
        # The bundled names carry the family ("Ethos_U55_..."); that is the only link Vela has.
        return tuple(n for n in self.system_configs if n.startswith(f"Ethos_{fam}_"))


def read_configs(path: Path) -> VelaConfigs:
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as e:
        raise VelaError(f"cannot read Vela's configuration file {path}: {e}") from e

    def resolved(section: str, seen: tuple[str, ...] = ()) -> dict[str, str]:
        if section in seen or not parser.has_section(section):
            return {}
        values = dict(parser.items(section))
        parent = values.pop("inherit", None)
        return {**(resolved(parent, (*seen, section)) if parent else {}), **values}

    systems, modes = {}, {}
    for section in parser.sections():
        kind, _, name = section.partition(".")
        if kind == "System_Config":
            systems[name] = resolved(section)
        elif kind == "Memory_Mode":
            modes[name] = resolved(section)
    return VelaConfigs(systems, modes)


def config_problems(
    accelerator: str, system_config: str, memory_mode: str, configs: VelaConfigs
) -> list[str]:
    """What is wrong with this combination, one sentence each (empty: Vela can compile for it)."""
    if accelerator not in ACCELERATORS:
        return [
            f"accelerator: {accelerator!r} is not an accelerator Vela knows; "
            f"use one of {', '.join(ACCELERATORS)}"
        ]
    fam = family(accelerator)
    fitting = configs.for_family(fam)
    problems = []
    system = configs.system_configs.get(system_config)
    if system is None:
        problems.append(
            f"system_config: {system_config!r} is not in Vela's vela.ini; "
            f"for the {display_name(accelerator)} it defines {', '.join(fitting) or '(none)'}"
        )
    elif system_config not in fitting:
        problems.append(
            f"system_config: {system_config!r} describes another Ethos-U system than the "
            f"{display_name(accelerator)} (Vela would compile with its clocks and memories regardless); "
            f"use one of {', '.join(fitting) or '(none)'}"
        )
    mode = configs.memory_modes.get(memory_mode)
    if mode is None:
        problems.append(
            f"memory_mode: {memory_mode!r} is not in Vela's vela.ini; "
            f"it defines {', '.join(configs.memory_modes)}"
        )
    elif system is not None:
        problems += _memory_problems(system_config, system, memory_mode, mode)
    return problems


def _memory_problems(
    system_name: str, system: dict[str, str], mode_name: str, mode: dict[str, str]
) -> list[str]:
    """Vela's own checks of where the memory mode puts things (architecture_features.py), said up front."""
    ports = {"Axi0": system.get("axi0_port", "?"), "Axi1": system.get("axi1_port", "?")}
    areas = {key: mode.get(key, "?") for key in ("const_mem_area", "arena_mem_area", "cache_mem_area")}
    where = {key: ports.get(port, "?") for key, port in areas.items()}
    wanted = {
        # Vela moves read-only data from SRAM to "on-chip flash" when everything shares one port.
        "const_mem_area": ("Dram", "OnChipFlash", "OffChipFlash")
        + (("Sram",) if len(set(areas.values())) == 1 else ()),
        "arena_mem_area": ("Sram", "Dram"),
        "cache_mem_area": ("Sram",),
    }
    problems = []
    for key, allowed in wanted.items():
        if where[key] not in allowed:
            problems.append(
                f"memory_mode: {mode_name!r} puts {key} on {areas[key]}, which {system_name!r} connects to "
                f"{where[key]}; Vela needs it on {' or '.join(allowed)}"
                + (
                    " (Dedicated_Sram modes need a system config with DRAM)"
                    if key == "arena_mem_area"
                    else ""
                )
            )
    return problems


# --- one run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VelaRun:
    """What one Vela run left behind, read before its temporary folder is deleted."""

    returncode: int | None  # None: stopped at the timeout
    stdout: str
    stderr: str
    summary_csv: str | None  # <stem>_summary_<system config>.csv
    compiled: bytes | None  # <stem>_vela.tflite


STEM = "model"  # the model is copied under a fixed name: output names never depend on PR input


def run_vela(
    model: Path, *, accelerator: str, system_config: str, memory_mode: str, optimise: str, timeout_s: float
) -> VelaRun:
    with tempfile.TemporaryDirectory(prefix="edgegate-vela-") as tmp:
        work = Path(tmp)
        home, out = work / "home", work / "out"
        home.mkdir()
        out.mkdir()
        source = work / f"{STEM}.tflite"
        shutil.copyfile(model, source)
        cmd = [
            sys.executable,
            # Isolated (no folder of its own on its path, no PYTHON* variables), as every Python
            # child (docs/security.md). -u: Vela's C++ core and its Python wrapper both write to
            # stdout, unbuffered keeps their order; -B: no bytecode written next to Vela.
            "-I",
            "-u",
            "-B",
            "-m",
            "ethosu.vela",
            "--config",
            "Arm/vela.ini",  # the bundled file, resolved by Vela against its own config_files/
            "--accelerator-config",
            accelerator,
            "--system-config",
            system_config,
            "--memory-mode",
            memory_mode,
            "--optimise",
            optimise,
            "--output-dir",
            str(out),
            str(source),
        ]
        try:
            done = run_child(cmd, cwd=work, env=child_env(home), timeout_s=timeout_s)
        except OSError as e:
            raise VelaError(
                f"could not start Vela ({sys.executable} -m ethosu.vela): {e.strerror or e}"
            ) from e
        summary = out / f"{STEM}_summary_{system_config}.csv"
        compiled = out / f"{STEM}_vela.tflite"
        return VelaRun(
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
            summary.read_text("utf-8", "replace") if summary.is_file() else None,
            compiled.read_bytes() if compiled.is_file() else None,
        )


def failure_text(run: VelaRun) -> str:
    """Vela's own words for a failed run: the final exception of its traceback, or its last lines."""
    lines = run.stderr.splitlines()
    last = max((i for i, line in enumerate(lines) if _EXCEPTION.match(line)), default=None)
    if last is not None:
        text = " ".join(line.strip() for line in lines[last:] if line.strip())
        text = _EXCEPTION.sub(r"\2", text, count=1)
    else:
        tail = [line.strip() for line in (run.stdout + "\n" + run.stderr).splitlines() if line.strip()]
        text = " / ".join(tail[-3:]) or "(no output)"
    return text.removeprefix("Compilation failed: ")[:600]


_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.*)$")


# --- its outputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VelaSummary:
    """The summary CSV's figures EdgeGate uses (memory in bytes, time in seconds)."""

    accelerator: str  # "Ethos_U55_128", as Vela writes it
    system_config: str
    memory_mode: str
    core_clock_hz: float
    memory_used: tuple[tuple[str, int], ...]  # ("SRAM", bytes), ... for every area Vela reports
    weights_area: str  # "Off-chip Flash": where Vela keeps weights and command streams
    feature_map_area: str  # "SRAM" (or "DRAM" in Dedicated_Sram modes)
    inference_s: float
    cycles_total: int
    cycles_npu: int
    macs: int

    def used(self, area: str) -> int:
        return dict(self.memory_used).get(area, 0)


# Summary columns → the area names Vela prints ("Total SRAM used", "Total Off-chip Flash used").
_AREAS = {
    "sram_memory_used": "SRAM",
    "dram_memory_used": "DRAM",
    "on_chip_flash_memory_used": "On-chip Flash",
    "off_chip_flash_memory_used": "Off-chip Flash",
}
_NUMBERS = ("core_clock", "inference_time", "cycles_total", "cycles_npu", "nn_macs", *_AREAS)
_TEXTS = (
    "accelerator_configuration",
    "system_config",
    "memory_mode",
    "weights_storage_area",
    "feature_map_storage_area",
)


def parse_summary(text: str, name: str) -> VelaSummary:
    """Read Vela's summary CSV (``name``: its file name, for messages).

    ``VelaError`` when it is not the layout of Vela 5.x: a missing column or a value that is
    not a non-negative number is an error, never a zero.
    """
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r]
    if len(rows) != 2:
        raise VelaError(f"Vela's {name} has {len(rows)} row(s); expected a header row and one data row")
    header, values = rows
    if len(header) != len(values):
        raise VelaError(f"Vela's {name} has {len(header)} column names but {len(values)} values")
    row = dict(zip(header, values))
    missing = [c for c in (*_TEXTS, *_NUMBERS) if c not in row]
    if missing:
        raise VelaError(
            f"Vela's {name} has no {', '.join(repr(m) for m in missing)} column(s); EdgeGate reads the "
            f"summary layout of ethos-u-vela 5.x"
        )
    numbers = {}
    for column in _NUMBERS:
        try:
            value = float(row[column])
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise VelaError(f"Vela's {name}: {column} is {row[column]!r}; expected a non-negative number")
        numbers[column] = value
    areas = set(_AREAS.values()) | {"SRAM"}
    for column in ("weights_storage_area", "feature_map_storage_area"):
        if row[column] not in areas:
            raise VelaError(
                f"Vela's {name}: {column} is {row[column]!r}; expected one of {', '.join(sorted(areas))}"
            )
    return VelaSummary(
        accelerator=row["accelerator_configuration"],
        system_config=row["system_config"],
        memory_mode=row["memory_mode"],
        core_clock_hz=numbers["core_clock"],
        # Vela writes KiB with full float precision; its byte counts are whole numbers.
        memory_used=tuple((area, round(numbers[col] * 1024)) for col, area in _AREAS.items()),
        weights_area=row["weights_storage_area"],
        feature_map_area=row["feature_map_storage_area"],
        inference_s=numbers["inference_time"],
        cycles_total=round(numbers["cycles_total"]),
        cycles_npu=round(numbers["cycles_npu"]),
        macs=round(numbers["nn_macs"]),
    )


@dataclass(frozen=True)
class VelaWarning:
    """One ``Warning (supported operators)`` block: why Vela left an op on the CPU."""

    op: str  # as Vela names it (a fused activation is reported as its own op, e.g. RELU)
    tensor: str  # the op's output tensor ("ofm")
    reason: str  # the "Reason:" line
    detail: str  # the constraint text after it, one line


_WARNING = re.compile(r"^Warning \(supported operators\) operator: (\w+), ofm: '(.*)'\s*$")
# Lines that end a warning block: Vela's next message of another kind.
_BLOCK_END = re.compile(r"^(Warning|Info|Error|TfLiteReader|Network summary|#)")


def parse_warnings(stdout: str) -> tuple[VelaWarning, ...]:
    found: list[VelaWarning] = []
    lines = stdout.splitlines()
    i = 0
    while i < len(lines):
        m = _WARNING.match(lines[i])
        i += 1
        if not m:
            continue
        block: list[str] = []
        while i < len(lines) and lines[i].strip() and not _BLOCK_END.match(lines[i]):
            block.append(lines[i].strip())
            i += 1
        reason = next((b.removeprefix("Reason:").strip() for b in block if b.startswith("Reason:")), "")
        detail = " ".join(b for b in block if not b.startswith("Reason:"))
        found.append(VelaWarning(m.group(1), m.group(2), reason, detail[:400]))
    return tuple(found)
