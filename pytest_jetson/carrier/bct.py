"""MB1/MB2 BCT forks: locate each file a forked variable names and follow its ``#include``s.

Real trees (R36.2 for T234, R38.4 and R39.2 for T264): T234 keeps the board ``.dts`` and the
pinmux/padvoltage ``.dtsi`` in ``bootloader/generic/BCT/`` and the GPIO ``.dtsi`` in
``bootloader/``; T264's ``BCT/*.dts`` are thin wrappers whose bodies sit in ``bootloader/``, with
the GPIO body two includes deep. An include resolves in the includer's directory, then
``bootloader/``, then ``bootloader/<target_board>/BCT/``; a leading ``./`` is stripped. Board-keyed
includes are followed recursively (depth-limited); headers, ``*-common*`` and carveout files are
shared and never forked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jetson.carrier.naming import CarrierNames

MAX_INCLUDE_DEPTH = 4
"""How many ``#include`` levels are followed below a file a variable names (Thor needs 2)."""

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


@dataclass
class BctFork:
    """One BCT file to fork: where it is in the LFT and what its fork is called."""

    source: Path
    rel_dir: str
    """Directory relative to the LFT (``bootloader/generic/BCT``)."""
    ref_name: str
    fork_name: str
    branch: str
    """``carrier-keyed`` (substitution) or ``module-keyed`` (suffix)."""
    row: str
    depth: int
    include_edits: list[tuple[str, str]] = field(default_factory=list)
    """``(include spec as written, spec naming the fork)`` pairs to apply to the content."""

    @property
    def ref_rel(self) -> str:
        """Reference path relative to the LFT."""
        return f"{self.rel_dir}/{self.ref_name}"

    @property
    def fork_rel(self) -> str:
        """Fork path relative to the LFT (and the overlay tracker)."""
        return f"{self.rel_dir}/{self.fork_name}"


@dataclass
class BctDiscovery:
    """Every BCT fork keyed by reference path, plus the warnings of the pass."""

    forks: dict[Path, BctFork] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """``(row, message)`` pairs."""

    def for_row(self, row: str) -> list[BctFork]:
        """The forks that belong to ``row``, in discovery order."""
        return [f for f in self.forks.values() if f.row == row]


def shared_include(name: str) -> bool:
    """Headers, ``*-common*`` and carveout files are shared by every board: never forked."""
    lower = name.lower()
    return lower.endswith(".h") or "-common" in lower or "carveout" in lower


def locate(lft: Path, target_board: str, value: str) -> Path | None:
    """The file a BCT variable's value names: ``bootloader/<board>/BCT/`` then ``bootloader/``."""
    if "/" in value:
        path = lft / value
        return path if path.is_file() else None
    for folder in (lft / "bootloader" / target_board / "BCT", lft / "bootloader"):
        if (folder / value).is_file():
            return folder / value
    return None


def resolve_include(lft: Path, target_board: str, includer: Path, spec: str) -> Path | None:
    """Resolve ``#include "spec"``: includer's dir, ``bootloader/``, ``bootloader/<board>/BCT/``."""
    clean = spec[2:] if spec.startswith("./") else spec
    for folder in (includer.parent, lft / "bootloader", lft / "bootloader" / target_board / "BCT"):
        candidate = folder / clean
        if candidate.is_file():
            return candidate
    return None


def discover(
    lft: Path,
    target_board: str,
    names: CarrierNames,
    wanted: Iterable[tuple[str, str, str]],
) -> BctDiscovery:
    """Locate and name every fork. ``wanted`` holds ``(row, variable, value)`` triples."""
    found = BctDiscovery()

    def add(path: Path, row: str, depth: int) -> BctFork:
        key = path.resolve()
        if key in found.forks:
            return found.forks[key]
        fork_name, branch = names.bct_fork(path.name)
        rel_dir = path.parent.relative_to(lft).as_posix()
        fork = BctFork(path, rel_dir, path.name, fork_name, branch, row, depth)
        found.forks[key] = fork
        follow(fork, depth)
        return fork

    def follow(fork: BctFork, depth: int) -> None:
        text = fork.source.read_text(encoding="utf-8", errors="replace")
        for spec in dict.fromkeys(_INCLUDE.findall(text)):
            name = spec.rsplit("/", 1)[-1]
            if shared_include(name) or not names.is_board_keyed(name):
                continue
            if depth + 1 > MAX_INCLUDE_DEPTH:
                found.warnings.append(
                    (
                        fork.row,
                        f'{fork.ref_name}: #include "{spec}" is deeper than '
                        f"{MAX_INCLUDE_DEPTH} levels; not followed",
                    )
                )
                continue
            target = resolve_include(lft, target_board, fork.source, spec)
            if target is None:
                found.warnings.append(
                    (
                        fork.row,
                        f'{fork.ref_name}: #include "{spec}" not found in '
                        f"{fork.rel_dir}/, bootloader/ or bootloader/{target_board}/BCT/; "
                        "not forked",
                    )
                )
                continue
            child = add(target, fork.row, depth + 1)
            prefix = spec[: len(spec) - len(name)]
            fork.include_edits.append((spec, prefix + child.fork_name))

    for row, variable, value in wanted:
        path = locate(lft, target_board, value)
        if path is None:
            found.warnings.append(
                (
                    row,
                    f"{variable}={value}: file not found in bootloader/{target_board}/BCT/ "
                    "or bootloader/ on this BSP; not forked",
                )
            )
            continue
        add(path, row, 0)
    return found


def _point_at(pattern: re.Pattern[str], new: str, text: str) -> str:
    return pattern.sub(lambda m: f'{m.group(1)}{new}"', text)


def fork_content(fork: BctFork) -> tuple[bytes, list[str]]:
    """The fork's bytes (include lines pointed at forked includes) and the strings to re-grep."""
    data = fork.source.read_bytes()
    if not fork.include_edits:
        return data, []
    text = data.decode("utf-8", errors="surrogateescape")
    expected = []
    for old, new in fork.include_edits:
        pattern = re.compile(r'(^\s*#\s*include\s+")' + re.escape(old) + r'"', re.MULTILINE)
        text = _point_at(pattern, new, text)
        expected.append(f'"{new}"')
    return text.encode("utf-8", errors="surrogateescape"), expected


def self_reference(fork: BctFork, names: CarrierNames) -> str | None:
    """A note when the content names the reference carrier literally (left unchanged)."""
    token = f"{names.carrier_id}-{names.carrier_sku}"
    text = _INCLUDE.sub("", fork.source.read_text(encoding="utf-8", errors="replace"))
    if re.search(rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])", text):
        return (
            f"{fork.fork_name}: content names {token} literally; left unchanged "
            "(content is never substituted; review it)"
        )
    return None
