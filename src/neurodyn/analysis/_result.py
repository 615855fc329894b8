"""Saving and loading result dataclasses as `.npz` files.

Array fields are stored as arrays, dicts of arrays as `field.key` entries, and everything
else (numbers, strings, dicts of numbers) as JSON. No pickles: a result file is safe to open.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import Any, Self

import numpy as np

from neurodyn._io import atomic_write
from neurodyn.errors import CorruptFile, excerpt


class SavableResult:
    """Mixin for frozen result dataclasses: `result.save(path)`, `Cls.load(path)`."""

    def save(self, path: str | Path) -> Path:
        """Write the result atomically to `path` (`.npz`)."""
        arrays: dict[str, np.ndarray] = {}
        plain: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                arrays[f.name] = value
            elif (
                isinstance(value, dict)
                and value
                and all(isinstance(v, np.ndarray) for v in value.values())
            ):
                for key, v in value.items():
                    arrays[f"{f.name}.{key}"] = v
                plain[f"__dict_of_arrays__.{f.name}"] = list(value)
            else:
                plain[f.name] = value
        arrays["__json__"] = np.array(json.dumps(plain))
        path = Path(path)

        def write(tmp: Path) -> None:
            with tmp.open("wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy stubs

        atomic_write(path, write)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """The result saved at `path`; `CorruptFile` if it is not one this class wrote
        (object arrays, which would need pickle, are refused rather than unpickled)."""
        try:
            return cls._load(path)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            if isinstance(err, FileNotFoundError):
                raise
            raise CorruptFile(
                f"{path} cannot be read as a saved {cls.__name__} ({excerpt(str(err), 80)}): "
                "delete it and run the analysis again"
            ) from None

    @classmethod
    def _load(cls, path: str | Path) -> Self:
        with np.load(path, allow_pickle=False) as data:
            plain = json.loads(str(data["__json__"]))
            values: dict[str, Any] = {}
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                if f.name in data.files:
                    values[f.name] = data[f.name]
                elif f"__dict_of_arrays__.{f.name}" in plain:
                    keys = plain[f"__dict_of_arrays__.{f.name}"]
                    values[f.name] = {k: data[f"{f.name}.{k}"] for k in keys}
                else:
                    values[f.name] = plain[f.name]
        return cls(**values)
