"""Image-folder datasets: one sub-folder per class, its name the class, its images the samples.

Classes are the sub-folders sorted by name (label = position). Samples are ordered round-robin
across classes, so ``limit:`` keeps the classes balanced, and only the images kept are decoded.
Images are resized to ``image_size`` (else the model's input size), converted to RGB or
grayscale, and scaled to the requested range as float32 ``(N, H, W, C)``.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np

from edgegate.datasets.interface import Dataset, DatasetSource
from edgegate.datasets.limits import MAX_IMAGE_PIXELS, check_total
from edgegate.datasets.paths import resolve_inside
from edgegate.errors import InputError
from edgegate.policy import sections

_SCALES = {"0..1": (1 / 255.0, 0.0), "-1..1": (1 / 127.5, -1.0), "0..255": (1.0, 0.0)}


class ImageFolderSource(DatasetSource):
    def load(
        self, spec: sections.Dataset, root: Path, *, key: str, input_hw: tuple[int, int] | None = None
    ) -> Dataset:
        try:
            from PIL import Image, UnidentifiedImageError
        except ImportError:
            raise InputError(
                f"{key}: reading an image folder needs Pillow; install it (pip install pillow)"
            ) from None
        written = spec.images or spec.path
        assert written is not None  # chosen for a spec with images or a folder path
        folder = resolve_inside(root, written, key=key)
        if not folder.is_dir():
            raise InputError(f"{key}: {written} is not a folder in the repository")
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not classes:
            raise InputError(
                f"{key}: {written} has no sub-folders; put each class's images in a sub-folder "
                "named after the class"
            )
        extensions = {ext.lower() for ext in Image.registered_extensions()}
        per_class = [_images_in(folder / name, extensions, root, key) for name in classes]
        ordered = [
            item
            for group in itertools.zip_longest(
                *[[(f, label) for f in files] for label, files in enumerate(per_class)]
            )
            for item in group
            if item is not None
        ]
        if spec.limit:
            ordered = ordered[: spec.limit]
        if not ordered:
            raise InputError(
                f"{key}: {written} holds no images (looked for {', '.join(sorted(extensions)[:6])}, "
                "... in its class sub-folders)"
            )

        size = tuple(spec.image_size) if spec.image_size else input_hw
        mode = "RGB" if spec.color == "rgb" else "L"
        factor, offset = _SCALES[spec.scale]
        arrays = []
        for file, _ in ordered:
            shown = file.relative_to(folder.parent)
            try:
                with Image.open(file) as opened:
                    # The header's size, before decoding: a tiny PNG may declare 50,000 x 50,000.
                    width, height = opened.size
                    if width * height > MAX_IMAGE_PIXELS:
                        raise InputError(
                            f"{key}: image {shown} is {width} x {height} pixels, over the "
                            f"{MAX_IMAGE_PIXELS:,} EdgeGate decodes; resize it"
                        )
                    img = opened.convert(mode)
                    if size is not None and img.size != (size[1], size[0]):
                        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                    arrays.append(np.asarray(img, dtype=np.float32))
            except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
                raise InputError(f"{key}: cannot read image {shown} ({e})") from None
            if len(arrays) == 1:  # every sample has this size, or the folder is refused below
                check_total(arrays[0].nbytes * len(ordered), f"{written} ({len(ordered)} images)", key)
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise InputError(
                f"{key}: images in {written} have different sizes ({', '.join(map(str, sorted(shapes)[:3]))}"
                "); set image_size: [height, width] to resize them"
            )
        x = np.stack(arrays)
        if mode == "L":
            x = x[..., None]
        x = x * np.float32(factor) + np.float32(offset)
        y = np.array([label for _, label in ordered], dtype=np.int64)
        return Dataset(x.astype(np.float32, copy=False), y, f"{key} ({written}, {len(classes)} classes)")


def _images_in(folder: Path, extensions: set[str], root: Path, key: str) -> list[Path]:
    """Image files under one class folder (nested folders too), sorted; symlinks must stay in the repository."""
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):  # does not follow symlinked folders
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not name.startswith(".") and path.suffix.lower() in extensions:
                resolve_inside(root, str(path), key=key)
                files.append(path)
    return files
