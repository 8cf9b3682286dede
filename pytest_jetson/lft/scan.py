"""Where a conf chain assigns what: the ``source`` chain, assignments and hook functions.

A static reader for questions about the text (which file sets a variable, which hooks exist),
used by tests and tooling that edit confs. It decides no value: NVIDIA's confs assign
variables again inside ``if`` branches (``ROOTFS_AB``/``ROOTFS_ENC``) and hooks, so only bash
knows what flash.sh gets; :func:`pytest_jetson.lft.conf.evaluate_conf` answers that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.errors import ConfigError
from pytest_jetson.lft.paths import Lft, as_lft, resolve_conf

_SOURCE_RE = re.compile(
    r"""^\s*(?:source|\.)\s+(?P<q>["']?)(?P<path>[^"';\s]+)(?P=q)\s*;?\s*(?:#.*)?$"""
)
_ASSIGN_RE = re.compile(
    r"^\s*(?P<kw>export\s+|local\s+|declare\s+(?:-\w+\s+)*|readonly\s+)?"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>\+?=)(?P<rest>.*)$"
)
_FUNC_RE = re.compile(
    r"^\s*(?:function\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_:-]*)\s*\(\s*\)\s*(?P<brace>\{)?"
)
_FUNC_KW_RE = re.compile(r"^\s*function\s+(?P<name>[A-Za-z_][A-Za-z0-9_:-]*)\s*(?P<brace>\{)?\s*$")


def _expand_source(raw: str, lft: Lft, includer: Path) -> Path:
    expanded = raw.replace("${LDK_DIR}", str(lft.root)).replace("$LDK_DIR", str(lft.root))
    if "$" in expanded:
        raise ConfigError(
            f"cannot follow 'source {raw}': only ${{LDK_DIR}} is expanded", path=str(includer)
        )
    path = Path(expanded)
    return path if path.is_absolute() else lft.root / path


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    return re.sub(r"(^|\s)#.*$", "", line)


@dataclass(frozen=True)
class Assignment:
    """One variable assignment found in a conf file."""

    file: Path
    line: int
    """1-based line number."""
    name: str
    op: str
    """``=`` or ``+=``."""
    value: str
    """The right-hand side with quotes and a trailing ``;`` removed, variables unexpanded."""
    function: str | None
    """The hook function the assignment is inside, or None at top level."""
    text: str
    """The whole line as written."""


def _unquote(rest: str) -> str:
    rest = rest.strip()
    if rest.startswith('"'):
        out = []
        i = 1
        while i < len(rest) and rest[i] != '"':
            if rest[i] == "\\" and i + 1 < len(rest):
                i += 1
            out.append(rest[i])
            i += 1
        return "".join(out)
    if rest.startswith("'"):
        end = rest.find("'", 1)
        return rest[1:end] if end > 0 else rest[1:]
    return re.split(r"[;\s]", rest, maxsplit=1)[0]


@dataclass
class _Walk:
    chain: list[Path]
    assignments: list[Assignment]
    functions: list[tuple[str, Path]]
    """Function definitions in the order bash executes them."""


def _scan(lft: Lft, path: Path, seen: set[Path], walk: _Walk) -> None:
    if path in seen:
        raise ConfigError(f"conf chain sources {path.name} twice (a cycle)", path=str(path))
    seen.add(path)
    walk.chain.append(path)
    function: str | None = None
    depth = 0
    opened = False
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        code = _strip_comment(line)
        if not code.strip():
            continue
        if function is None:
            header = _FUNC_KW_RE.match(code) or _FUNC_RE.match(code)
            if header is not None and "=" not in code.split("(")[0]:
                function, depth, opened = header.group("name"), 0, False
                walk.functions.append((function, path))
        source = _SOURCE_RE.match(code)
        if source is not None and function is None:
            target = _expand_source(source.group("path"), lft, path)
            if not target.exists():
                raise ConfigError(
                    f"{path.name} line {number} sources {source.group('path')}, "
                    f"which does not exist ({target})",
                    path=str(path),
                    line=number,
                )
            _scan(lft, target.resolve(), seen, walk)
        assign = _ASSIGN_RE.match(code)
        if assign is not None and not (assign.group("kw") or "").startswith("local"):
            walk.assignments.append(
                Assignment(
                    file=path,
                    line=number,
                    name=assign.group("name"),
                    op=assign.group("op"),
                    value=_unquote(assign.group("rest")),
                    function=function,
                    text=line,
                )
            )
        if function is not None:
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code.replace("${", "")
            if opened and depth <= 0:
                function = None


def _walk(lft: Lft | Path | str, conf_name: str) -> _Walk:
    tree = as_lft(lft)
    walk = _Walk([], [], [])
    _scan(tree, resolve_conf(tree, conf_name), set(), walk)
    return walk


def conf_chain(lft: Lft | Path | str, conf_name: str) -> list[Path]:
    """The static ``source`` chain of ``conf_name``: the real conf first, then what it sources.

    Symlinks are followed (the devkit conf resolves to the real conf), ``${LDK_DIR}`` and
    ``$LDK_DIR`` expand to the LFT. A missing conf or sourced file is a :class:`ConfigError`
    naming it.
    """
    return _walk(lft, conf_name).chain


def variable_assignments(lft: Lft | Path | str, conf_name: str) -> dict[str, list[Assignment]]:
    """Every assignment over the conf chain, per variable, in the order bash meets them.

    Assignments inside hook functions carry the function name; they run later, at flash
    time (see :func:`evaluate_conf`). ``local`` declarations are left out.
    """
    result: dict[str, list[Assignment]] = {}
    for item in _walk(lft, conf_name).assignments:
        result.setdefault(item.name, []).append(item)
    return result


def hook_functions(lft: Lft | Path | str, conf_name: str) -> dict[str, Path]:
    """Functions defined over the chain: name → file of the definition bash keeps (the last
    one executed, so a conf that redefines a hook after its ``source`` line wins)."""
    return dict(_walk(lft, conf_name).functions)
