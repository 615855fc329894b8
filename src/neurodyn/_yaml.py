"""The one YAML reader for configs: safe, bounded, and strict about duplicate keys.

Every config file neurodyn reads (run configs, sweeps, study configs) goes through
`read_yaml`. A YAML file is small text but can expand without bound through aliases (a
1 KB "billion laughs" file names a billion strings), and a repeated key silently keeps only
the last value; both are refused here with a one-line `ConfigError` naming the file.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from neurodyn.errors import ConfigError, excerpt

# A hand-written config is a few KB; these bounds are far above any real one and far below
# what would make parsing or validation slow.
MAX_TEXT_BYTES = 1_000_000
MAX_NODES = 200_000  # scalars, lists and mappings once aliases are expanded
MAX_DEPTH = 100
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key repeated within one mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(
                    f"duplicate key {excerpt(key)} on line {line}: give each key once"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: Node) -> int:
    """How many nodes `root` stands for once its aliases are expanded (each alias counts the
    whole subtree it names). Raises ConfigError for a structure that contains itself."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise ConfigError("an alias refers to a mapping or list that contains it")
        if depth > MAX_DEPTH:
            raise ConfigError(f"nested deeper than {MAX_DEPTH} levels")
        on_path.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        on_path.discard(key)
        sizes[key] = min(total, MAX_NODES + 1)  # saturate: the count only needs to pass the cap
        return sizes[key]

    return size(root, 0)


def parse_yaml(text: str, source: str) -> Any:
    """The data of the YAML `text` (from `source`, named in errors), bounded and strict.

    Raises
    ------
    ConfigError
        Text over `MAX_TEXT_BYTES`, invalid YAML, a duplicate key, or a structure that
        expands past `MAX_NODES` nodes or `MAX_DEPTH` levels (an alias bomb).
    """
    if len(text) > MAX_TEXT_BYTES:
        raise ConfigError(
            f"{source} is {len(text)} characters, over the {MAX_TEXT_BYTES} a config may have"
        )
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            expanded = _expanded_size(node)
        except ConfigError as err:
            raise ConfigError(f"{source} is refused: {err}") from None
        if expanded > MAX_NODES:
            raise ConfigError(
                f"{source} expands to over {MAX_NODES} values through its aliases "
                "(an alias bomb?): write the values out or use fewer aliases"
            )
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        # where and what, in the file's own terms (PyYAML's text names "<unicode string>")
        mark, context = err.problem_mark, err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        around = (
            f" ({_plain(err.context)} at line {context.line + 1}, column {context.column + 1})"
            if err.context and context
            else ""
        )
        what = _plain(err.problem or "it cannot be read")
        raise ConfigError(f"{source} is not valid YAML{where}: {what}{around}") from None
    except yaml.YAMLError as err:
        detail = excerpt(" ".join(str(err).split()), limit=200)
        raise ConfigError(f"{source} is not valid YAML: {detail}") from None
    except RecursionError:
        raise ConfigError(f"{source} is nested too deeply to read") from None
    except ConfigError as err:
        if str(err).startswith(source):
            raise
        raise ConfigError(f"{source}: {err}") from None
    finally:
        loader.dispose()


def read_yaml(path: Any) -> Any:
    """The data of the YAML file at `path` (a `Path` or a package resource), as `parse_yaml`
    reads it; a file that is not UTF-8 text or cannot be read is a `ConfigError` too."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror or err}") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise ConfigError(
            f"{path} is {len(raw)} bytes, over the {MAX_TEXT_BYTES} a config may have"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {err.start}): save it as UTF-8 YAML"
        ) from None
    if "\x00" in text:
        raise ConfigError(f"{path} holds NUL bytes, so it is not a YAML text file")
    return parse_yaml(text, str(path))


__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_TEXT_BYTES", "parse_yaml", "read_yaml"]


def _plain(text: str, limit: int = 120) -> str:
    """PyYAML's words for a problem as one short printable line (they may quote the file's
    characters: a tab, a control code)."""
    one = " ".join(text.split()).encode("ascii", "backslashreplace").decode("ascii")
    one = "".join(c if c.isprintable() else "?" for c in one)
    return one if len(one) <= limit else one[: limit - 3] + "..."
