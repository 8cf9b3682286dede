"""A small reader of L4T flash confs: assignments, ``source`` lines and function bodies.

flash.sh sources ``<board>.conf`` in bash; the conf ``source``s ``.conf.common`` files, which set
most variables at top level and define the hooks flash.sh calls per SKU/FAB. The fork plan needs
to know, for each variable, every literal value any line can give it, the file and function of
that line, and the order in which top-level assignments take effect. This reader parses the
NVIDIA conf style (one statement per line, functions as ``name()`` followed by braces); it never
runs bash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ASSIGN = re.compile(
    r"^\s*(?:export\s+|local\s+|declare\s+(?:-\w+\s+)?)?([A-Za-z_][A-Za-z0-9_]*)(\+?=)(.*)$"
)
_SOURCE = re.compile(r"^\s*(?:source|\.)\s+(\"[^\"]*\"|'[^']*'|\S+)\s*;?\s*(?:#.*)?$")
_FUNC = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*\(\s*\)\s*(\{.*)?$")
_FUNC_KW = re.compile(r"^\s*function\s+([A-Za-z_][A-Za-z0-9_.-]*)\s*(\{.*)?$")
_LDK = re.compile(r"\$\{LDK_DIR\}|\$LDK_DIR\b")


@dataclass(frozen=True)
class Assignment:
    """One ``NAME=value`` (or ``NAME+=value``) line of a conf file."""

    file: Path
    line: int
    """1-based line number."""
    name: str
    op: str
    """``=`` or ``+=``."""
    value: str
    """The value with quotes removed (may still hold ``${...}`` expansions)."""
    raw: str
    """The right-hand side as written (quotes kept, trailing ``;``/comment removed)."""
    function: str | None
    """The enclosing function, None at top level."""

    @property
    def literal(self) -> bool:
        """True when the value holds no shell expansion (``$``, backquote)."""
        return "$" not in self.value and "`" not in self.value


@dataclass(frozen=True)
class SourceLine:
    """One ``source <path>`` line and the file it names (None when unresolvable)."""

    file: Path
    line: int
    target: Path | None
    text: str


@dataclass(frozen=True)
class Function:
    """One function definition: name and 1-based line span."""

    file: Path
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class ConfFile:
    """What :func:`parse` found in one conf file."""

    path: Path
    lines: tuple[str, ...]
    assignments: tuple[Assignment, ...]
    sources: tuple[SourceLine, ...]
    functions: tuple[Function, ...]


def _split_rhs(rhs: str) -> tuple[str, str]:
    """(unquoted value, raw text) of an assignment's right-hand side."""
    rhs = rhs.strip()
    if rhs[:1] in ('"', "'"):
        quote = rhs[0]
        end = rhs.find(quote, 1)
        if end < 0:
            return rhs[1:], rhs
        return rhs[1:end], rhs[: end + 1]
    match = re.match(r"[^\s;]*", rhs)
    raw = match.group(0) if match else ""
    return raw, raw


def _braces(text: str) -> int:
    """Net ``{``/``}`` count of a line outside quotes and comments."""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
            continue
        if ch in ('"', "'"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t;"):
            break
        elif ch == "{" and not (i > 0 and text[i - 1] == "$"):
            depth += 1
        elif ch == "}":
            depth -= 1
    return depth


def _resolve_source(spec: str, lft: Path) -> Path | None:
    spec = spec.strip("\"'")
    spec = _LDK.sub(str(lft).replace("\\", "\\\\"), spec)
    if "$" in spec or "`" in spec:
        return None
    path = Path(spec)
    return path if path.is_absolute() else lft / path


def parse(path: Path, lft: Path, text: str | None = None) -> ConfFile:
    """Parse one conf file (or ``text`` standing for it); ``${LDK_DIR}`` resolves to ``lft``."""
    content = path.read_text(encoding="utf-8", errors="replace") if text is None else text
    lines = tuple(content.splitlines())
    assignments: list[Assignment] = []
    sources: list[SourceLine] = []
    functions: list[Function] = []
    current: tuple[str, int] | None = None
    depth = 0
    pending: tuple[str, int] | None = None
    for number, line_text in enumerate(lines, start=1):
        stripped = line_text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if current is None:
            head = _FUNC.match(line_text) or _FUNC_KW.match(line_text)
            if head and not _ASSIGN.match(line_text):
                pending = (head.group(1), number)
                depth = _braces(line_text)
                if depth > 0:
                    current, pending = pending, None
                continue
            if pending is not None and stripped.startswith("{"):
                current, pending = pending, None
                depth = _braces(line_text)
                if depth <= 0:
                    functions.append(Function(path, current[0], current[1], number))
                    current = None
                continue
            pending = None
        else:
            depth += _braces(line_text)
        function = current[0] if current else None
        source = _SOURCE.match(line_text)
        if source and function is None:
            sources.append(
                SourceLine(path, number, _resolve_source(source.group(1), lft), line_text)
            )
        assign = _ASSIGN.match(line_text)
        if assign:
            value, raw = _split_rhs(assign.group(3))
            assignments.append(
                Assignment(path, number, assign.group(1), assign.group(2), value, raw, function)
            )
        if current is not None and depth <= 0:
            functions.append(Function(path, current[0], current[1], number))
            current = None
    return ConfFile(path, lines, tuple(assignments), tuple(sources), tuple(functions))


@dataclass(frozen=True)
class ConfChain:
    """A conf and everything it ``source``s, in the order bash evaluates them."""

    top: ConfFile
    files: tuple[ConfFile, ...]
    """Every file of the chain, the top conf first (depth-first source order)."""
    toplevel: tuple[Assignment, ...]
    """Top-level assignments in evaluation order (a ``source`` line expands in place)."""
    unresolved: tuple[SourceLine, ...]
    """``source`` lines whose file could not be found."""

    def assignments(self, name: str) -> tuple[Assignment, ...]:
        """Every assignment of ``name`` in the chain (top level and in functions)."""
        return tuple(a for f in self.files for a in f.assignments if a.name == name)

    def effective_toplevel(self, name: str) -> Assignment | None:
        """The top-level assignment of ``name`` in effect once the conf is sourced."""
        found = [a for a in self.toplevel if a.name == name and a.op == "="]
        return found[-1] if found else None

    def value_of(self, name: str, default: str = "") -> str:
        """The literal top-level value of ``name`` (``default`` when unset)."""
        found = self.effective_toplevel(name)
        return found.value if found is not None else default


def read_chain(conf: Path, lft: Path, *, max_depth: int = 8) -> ConfChain:
    """Parse ``conf`` and the files it sources, recursively (``max_depth`` levels)."""
    files: list[ConfFile] = []
    toplevel: list[Assignment] = []
    unresolved: list[SourceLine] = []
    seen: set[Path] = set()

    def walk(path: Path, depth: int) -> ConfFile:
        parsed = parse(path, lft)
        files.append(parsed)
        seen.add(path.resolve())
        events = sorted(
            [(a.line, 0, a) for a in parsed.assignments if a.function is None]
            + [(s.line, 1, s) for s in parsed.sources],
            key=lambda e: (e[0], e[1]),
        )
        for _line, kind, item in events:
            if kind == 0:
                assert isinstance(item, Assignment)
                toplevel.append(item)
                continue
            assert isinstance(item, SourceLine)
            target = item.target
            if target is None or not target.is_file():
                unresolved.append(item)
            elif target.resolve() not in seen and depth < max_depth:
                walk(target, depth + 1)
        return parsed

    top = walk(conf, 0)
    return ConfChain(top, tuple(files), tuple(toplevel), tuple(unresolved))
