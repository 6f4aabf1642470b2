"""Keras models that would read files outside themselves when loaded, found without loading them.

Some built-in layers open a file named in their config while they are rebuilt: a lookup layer
whose ``vocabulary`` is a string reads that path (``StringLookup``, ``IntegerLookup`` and
``TextVectorization``, through ``IndexLookup.set_vocabulary``; tf-keras does it even in safe
mode), ``TFSMLayer`` loads the SavedModel at its ``filepath`` (found by reading the Keras 3 and
tf-keras layer sources for file reads at construction). A pull request can name
``/proc/self/environ`` there, and the vocabulary ends up in the converted model. The weights
file can point out too: HDF5 datasets may keep their bytes in *external* files, be *virtual*
(mapped from other files), or be external links; h5py would read those files for the loader.
And a ``.keras`` archive's member names must stay inside it. A tf-keras ``TFOpLambda`` names the
TensorFlow function it calls (``io.write_file``, ``py_function``): nothing runs it at load, but
training and evaluation do, so the functions of ``unsafe_ops.json`` (rule 4) are refused too.

Everything here reads JSON, zip directories and HDF5 metadata only: no layer is deserialized.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, Iterator

from edgegate.exception_text import bounded
from edgegate.formats.interface import Scan
from edgegate.recipes import unsafe_ops
from edgegate.recipes.refusals import Finding, refusal
from edgegate.recipes.interface import SourceModel

# Layer class → the config key naming a file it reads at load.
FILE_KEYS: dict[str, str] = {
    "StringLookup": "vocabulary",
    "IntegerLookup": "vocabulary",
    "TextVectorization": "vocabulary",
    "IndexLookup": "vocabulary",
    "TFSMLayer": "filepath",
}
_OP_LAYERS = ("TFOpLambda", "SlicingOpLambda")  # tf-keras: config "function" is a tf API name


def walk_dicts(node: Any) -> Iterator[dict]:
    """Every mapping in a Keras config, depth first (layer configs nest in models and wrappers)."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk_dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_dicts(v)


def file_reading_layers(config: object) -> list[tuple[str, str]]:
    """(layer, what it would do) for each layer config in ``config`` that names a file to read or
    calls a TensorFlow function doing I/O.

    Any layer config with a string ``vocabulary`` counts, whatever its class: subclasses of the
    lookup layers (and ``TextVectorization``'s inner lookup) read it the same way."""
    found: list[tuple[str, str]] = []
    functions = unsafe_ops.load().functions
    for node in walk_dicts(config):
        cls = node.get("class_name")
        layer_config = node.get("config")
        if not isinstance(cls, str) or not isinstance(layer_config, dict):
            continue
        function = layer_config.get("function")
        if cls in _OP_LAYERS and isinstance(function, str) and function in functions:
            name = layer_config.get("name", "?")
            found.append(
                (f"layer {bounded(str(name), 60)!r} ({cls})", f"calls tf.{function} ({functions[function]})")
            )
        keys = {FILE_KEYS[cls]} if cls in FILE_KEYS else set()
        if isinstance(layer_config.get("vocabulary"), str):
            keys.add("vocabulary")
        for key in sorted(keys):
            value = layer_config.get(key)
            if isinstance(value, str) and value:
                name = layer_config.get("name", "?")
                found.append(
                    (
                        f"layer {bounded(str(name), 60)!r} ({bounded(cls, 60)})",
                        f"reads the file its config names ({key}: {bounded(value, 120)!r})",
                    )
                )
    return found


def config_findings(config: object) -> list[Finding]:
    return [Finding(layer, reason) for layer, reason in file_reading_layers(config)]


def _h5_findings(h5file, prefix: str) -> list[Finding]:
    """External links, external storage and virtual datasets in an open ``h5py.File``."""
    import h5py

    findings: list[Finding] = []

    def visit(name: str, link) -> None:
        shown = f"{prefix}/{bounded(name, 120)}"
        if isinstance(link, h5py.ExternalLink):
            findings.append(
                Finding(
                    shown, f"is an HDF5 external link to {bounded(link.filename, 120)!r} (reads another file)"
                )
            )
            return
        if not isinstance(link, h5py.HardLink):
            return  # soft links point inside the file, at an object visited through its hard link
        obj = h5file[name]
        if not isinstance(obj, h5py.Dataset):
            return
        if obj.is_virtual:
            sources = sorted({m.file_name for m in obj.virtual_sources()})
            findings.append(
                Finding(shown, f"is an HDF5 virtual dataset mapped from {bounded(', '.join(sources), 120)!r}")
            )
        elif obj.id.get_create_plist().get_external_count() > 0:
            outside = obj.id.get_create_plist().get_external(0)[0].decode("utf-8", "replace")
            findings.append(
                Finding(
                    shown,
                    f"keeps its data in the external file {bounded(outside, 120)!r} (HDF5 external storage)",
                )
            )

    h5file.visititems_links(visit)
    return findings


def file_findings(source: SourceModel) -> list[Finding]:
    """What a ``.keras`` or ``.h5`` file holds that would read other files; [] for other kinds.

    Unreadable files give no finding: the loader reports them with its own message."""
    import h5py

    path = Path(source.path)
    findings: list[Finding] = []
    try:
        if source.format.scan is Scan.HDF5:
            with h5py.File(path, "r") as f:
                findings.extend(_h5_findings(f, path.name))
        elif source.format.scan is Scan.KERAS_ARCHIVE:
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    parts = member.replace("\\", "/").split("/")
                    if (
                        member.startswith(("/", "\\"))
                        or ".." in parts
                        or (len(member) > 1 and member[1] == ":")
                    ):
                        findings.append(
                            Finding(f"archive member {bounded(member, 120)!r}", "climbs out of the archive")
                        )
                    elif member.endswith((".h5", ".hdf5")):
                        with h5py.File(io.BytesIO(z.read(member)), "r") as f:
                            findings.extend(_h5_findings(f, member))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError):
        return findings
    return findings


def check_keras_file(source: SourceModel) -> None:
    """Refuse a ``.keras``/``.h5`` file whose weights would be read from other files, unless trusted."""
    if source.trust_code:
        return
    findings = file_findings(source)
    if findings:
        raise refusal(source.display, source.format.title, findings)


def check_keras_config(config: object, source: SourceModel) -> None:
    """Refuse a model whose layers would read files named in their config, unless trusted."""
    if source.trust_code or config is None:
        return
    findings = config_findings(config)
    if findings:
        raise refusal(source.display, source.format.title, findings)
