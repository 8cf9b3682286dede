"""Strict YAML reading with locations: every error names the file, the line and the key.

The loader composes the YAML node graph (no object construction, so no tags can run code) and
reads values through :class:`MapReader`, which rejects unknown keys, duplicate keys, missing
required keys and wrong types. Scalars meant as strings keep their source text, so an unquoted
``sku: 0000`` stays ``"0000"`` instead of becoming the integer 0.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from pytest_jetson.errors import ConfigError, excerpt

_NULL_TAG = "tag:yaml.org,2002:null"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _NULL_TAG:
        return "an empty value"
    return f"the scalar {excerpt(str(node.value))}"


class MapReader:
    """Reads one YAML mapping with its location, for error messages that point at the input."""

    def __init__(
        self,
        node: yaml.MappingNode,
        *,
        path: Path,
        keypath: str,
        error: type[ConfigError],
    ) -> None:
        self.node = node
        self.path = path
        self.keypath = keypath
        self._error = error
        self._entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error("mapping keys must be plain names", line=_line(key_node))
            key = str(key_node.value)
            if key in self._entries:
                first = _line(self._entries[key][0])
                raise self.error(
                    f"duplicate key (first defined on line {first})",
                    key=key,
                    line=_line(key_node),
                )
            self._entries[key] = (key_node, value_node)

    @property
    def line(self) -> int:
        """The line where the mapping starts."""
        return _line(self.node)

    def line_of(self, key: str) -> int:
        """The line of ``key`` (the mapping's first line when the key is absent)."""
        entry = self._entries.get(key)
        return _line(entry[0]) if entry is not None else self.line

    def keys(self) -> list[str]:
        """The keys in file order."""
        return list(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def error(
        self, message: str, *, key: str | None = None, line: int | None = None
    ) -> ConfigError:
        """A ConfigError located at ``key`` of this mapping (or at the mapping itself)."""
        full = self._qualify(key) if key is not None else (self.keypath or None)
        if line is None:
            line = self.line_of(key) if key is not None else self.line
        return self._error(message, path=str(self.path), line=line, key=full)

    def _qualify(self, key: str) -> str:
        return f"{self.keypath}.{key}" if self.keypath else key

    def allow(self, allowed: Iterable[str]) -> None:
        """Reject keys not in ``allowed``, suggesting the closest valid one."""
        names = list(allowed)
        for key in self._entries:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.error(f"unknown key (valid: {', '.join(names)}){hint}", key=key)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present with a non-empty value."""
        entry = self._entries.get(key)
        return entry is not None and entry[1].tag != _NULL_TAG

    def node_of(self, key: str) -> yaml.Node | None:
        """The value node of ``key``, or None when absent or empty."""
        return self._entries[key][1] if self.has(key) else None

    def _require(self, key: str) -> yaml.Node:
        if key not in self._entries:
            raise self.error("missing required key", key=key)
        node = self._entries[key][1]
        if node.tag == _NULL_TAG:
            raise self.error("required key has no value", key=key)
        return node

    def scalar_text(self, key: str, node: yaml.Node, what: str = "a string") -> str:
        """The source text of a scalar ``node`` found at ``key`` (type error otherwise)."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(f"expected {what}, got {_kind(node)}", key=key, line=_line(node))
        text: str = node.value
        if not text.strip():
            raise self.error(f"expected {what}, got an empty string", key=key, line=_line(node))
        return text

    def text(self, key: str) -> str:
        """A required string value (source text, so ``0000`` stays ``"0000"``)."""
        return self.scalar_text(key, self._require(key))

    def opt_text(self, key: str) -> str | None:
        """An optional string value; None when absent or empty."""
        node = self.node_of(key)
        return None if node is None else self.scalar_text(key, node)

    def opt_int(self, key: str, *, minimum: int = 0) -> int | None:
        """An optional integer value; None when absent."""
        node = self.node_of(key)
        if node is None:
            return None
        text = self.scalar_text(key, node, "an integer")
        try:
            value = int(text, 0)
        except ValueError:
            raise self.error(f"expected an integer, got {excerpt(text)}", key=key) from None
        if value < minimum:
            raise self.error(f"must be at least {minimum}, got {value}", key=key)
        return value

    def opt_bool(self, key: str) -> bool | None:
        """An optional YAML boolean (``true``/``false``); None when absent."""
        node = self.node_of(key)
        if node is None:
            return None
        text = self.scalar_text(key, node, "true or false")
        if node.tag != "tag:yaml.org,2002:bool":
            raise self.error(
                f"expected true or false, got {excerpt(text)}", key=key, line=_line(node)
            )
        return text.lower() in ("true", "yes", "on", "y")

    def opt_float(self, key: str, *, maximum: float | None = None) -> float | None:
        """An optional positive number, at most ``maximum`` when given; None when absent."""
        node = self.node_of(key)
        if node is None:
            return None
        text = self.scalar_text(key, node, "a number")
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"expected a number, got {excerpt(text)}", key=key) from None
        if not value > 0:
            raise self.error(f"must be a positive number, got {excerpt(text)}", key=key)
        if maximum is not None and not value <= maximum:
            raise self.error(f"must be at most {maximum:g}, got {excerpt(text)}", key=key)
        return value

    def map(self, key: str) -> MapReader:
        """A required nested mapping."""
        return self._as_map(key, self._require(key))

    def opt_map(self, key: str) -> MapReader | None:
        """An optional nested mapping; None when absent or empty."""
        node = self.node_of(key)
        return None if node is None else self._as_map(key, node)

    def _as_map(self, key: str, node: yaml.Node) -> MapReader:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(f"expected a mapping, got {_kind(node)}", key=key, line=_line(node))
        return MapReader(node, path=self.path, keypath=self._qualify(key), error=self._error)

    def str_list(self, key: str) -> tuple[str, ...]:
        """An optional list of strings (a single string is taken as a one-item list)."""
        node = self.node_of(key)
        if node is None:
            return ()
        if isinstance(node, yaml.ScalarNode):
            return (self.scalar_text(key, node),)
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(f"expected a list of strings, got {_kind(node)}", key=key)
        return tuple(self.scalar_text(key, item) for item in node.value)

    def choice(self, key: str, node: yaml.Node, choices: Iterable[str]) -> str:
        """A scalar that must be one of ``choices``."""
        names = list(choices)
        text = self.scalar_text(key, node, f"one of {', '.join(names)}")
        if text not in names:
            raise self.error(f"must be one of {', '.join(names)}, got {excerpt(text)}", key=key)
        return text


def read_mapping(path: Path, *, error: type[ConfigError], what: str) -> MapReader:
    """Parse ``path`` as one YAML document whose top level is a mapping."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None
    except ValueError:  # a NUL byte in the path
        raise error(
            f"cannot read {what}: the path contains a NUL byte", path=repr(str(path))
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(f"{what} is not UTF-8 text", path=str(path), line=line) from None
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise error(f"invalid YAML: {problem}", path=str(path), line=where) from None
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", path=str(path)) from None
    except RecursionError:
        raise error("invalid YAML: nested too deeply", path=str(path)) from None
    documents = [d for d in documents if d is not None]
    if not documents:
        raise error(f"{what} is empty", path=str(path), line=1)
    if len(documents) > 1:
        raise error(
            f"{what} holds more than one YAML document", path=str(path), line=_line(documents[1])
        )
    root = documents[0]
    if not isinstance(root, yaml.MappingNode):
        raise error(
            f"{what} must be a mapping at the top level, got {_kind(root)}",
            path=str(path),
            line=_line(root),
        )
    return MapReader(root, path=path, keypath="", error=error)
