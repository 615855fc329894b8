"""Result dataclasses: saving and loading as `.npz` files, and short reprs.

Array fields are stored as arrays, dicts of arrays as `field.key` entries, and everything
else (numbers, strings, dicts of numbers) as JSON. No pickles: a result file is safe to open.

A result's repr names each field with its shape (`states=[12, 24] float64`), never its values:
the default dataclass repr of a fixed-point result ran to tens of thousands of characters. In a
notebook a result shows as the same summary in a small table (`_repr_html_`).
"""

from __future__ import annotations

import dataclasses
import html
import json
import textwrap
import zipfile
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from neurodyn._io import atomic_write
from neurodyn.errors import ArgumentError, CorruptFile, ShapeError, excerpt

_SHORT = 40  # characters of a string or a small value shown in a summary


def summarise_value(value: Any) -> str:
    """A short description of one field's value: shape and dtype for arrays, sizes for long
    containers, the value itself when it is short."""
    if isinstance(value, np.ndarray):
        return f"[{', '.join(map(str, value.shape))}] {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # a tensor
        return f"[{', '.join(map(str, value.shape))}] {value.dtype}"
    if isinstance(value, ShortRepr):
        return type(value).__name__
    if isinstance(value, dict):
        text = repr(value) if all(np.isscalar(v) for v in value.values()) else ""
        return text if text and len(text) <= _SHORT else f"{{{len(value)} keys}}"
    if isinstance(value, list | tuple):
        text = repr(value) if all(np.isscalar(v) for v in value) else ""
        return text if text and len(text) <= _SHORT else f"{type(value).__name__}[{len(value)}]"
    text = repr(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


class ShortRepr:
    """Mixin for result dataclasses: a repr of one to a few lines with each field's shape, and
    the same summary as an HTML table for notebooks."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # `@dataclass` writes its own __repr__ unless the class defines one; putting ours in the
        # class body's namespace keeps the summary for every subclass
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = ShortRepr.__repr__  # type: ignore[method-assign]

    def _field_value(self, name: str) -> Any:
        """The value of field `name` to show and to save (a subclass may hold back one that
        is computed when read)."""
        return getattr(self, name)

    def _summary(self) -> list[tuple[str, str]]:
        return [
            (f.name, summarise_value(self._field_value(f.name)))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        ]

    def __repr__(self) -> str:
        body = ", ".join(f"{name}={text}" for name, text in self._summary())
        lines = textwrap.wrap(body, width=96, break_long_words=False, break_on_hyphens=False)
        return f"{type(self).__name__}(" + "\n    ".join(lines) + ")"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(name)}</code></td><td>{html.escape(text)}</td></tr>"
            for name, text in self._summary()
        )
        return f"<b>{html.escape(type(self).__name__)}</b><table>{rows}</table>"


class SavableResult(ShortRepr):
    """Mixin for frozen result dataclasses: `result.save(path)`, `Cls.load(path)`, and a
    short repr."""

    def save(self, path: str | Path) -> Path:
        """Write the result atomically to `path` (`.npz`)."""
        arrays: dict[str, np.ndarray] = {}
        plain: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = self._field_value(f.name)
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
                elif f.name in plain or (
                    f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                ):
                    values[f.name] = plain[f.name]  # a KeyError here: not a file of ours
                # else a field added since the file was written: it takes its default
        return cls(**values)


class PerUnitVariance(SavableResult):
    """Mixin for the variance results of units (`TaskVariance`, `PeriodVariance`): for an
    ensemble's states, the arrays named in `per_member` carry a leading `E` axis, and
    `member(e)` gives one member's result."""

    per_member: ClassVar[tuple[str, ...]] = ("variance", "normalised", "active")
    what: ClassVar[str] = "variance"  # the result's name in messages
    variance: np.ndarray  # a field of each subclass: [(E,) N, columns]

    @property
    def is_ensemble(self) -> bool:
        """Whether the arrays carry a leading ensemble axis `E`."""
        return self.variance.ndim == 3

    def member(self, e: int) -> Self:
        """The result of the ensemble's member `e` alone (its arrays without the `E` axis).

        Parameters
        ----------
        e : int
            Index along the ensemble axis.

        Returns
        -------
        The same type, equal to the analysis of that member's states alone.
        """
        if not self.is_ensemble:
            raise ShapeError(f"this {self.what} is of one network; use it as it is")
        n_members = len(self.variance)
        if not -n_members <= e < n_members:
            raise ArgumentError(f"member {e} is out of range: the ensemble has {n_members}")
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name in self.per_member:
                changes[f.name] = value[e]
            elif isinstance(value, list):
                changes[f.name] = list(value)  # the member's own copy of the labels
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]
