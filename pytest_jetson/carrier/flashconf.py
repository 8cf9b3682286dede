"""Targeted rewrites of the board flash-conf fork (pure text in, text out).

How a forked BCT variable ends up with the forked name at flash time, on real trees:

1. **In place** — every assignment in the forked file itself (top level or inside a hook it
   defines) whose value names a forked file gets the forked name on that line only.
2. **Override after the last ``source`` line** — when the value in effect after sourcing comes
   from a ``.conf.common`` file (AGX: ``p3701.conf.common``; Nano: ``p3767.conf.common``), an
   assignment of the forked name goes right after the forked file's last ``source`` line, where it
   wins over the common file and still loses to later lines of the forked file.
3. **Hook remap** — the ``.conf.common`` files are shared with the reference devkit and are not
   forked, yet their hooks (``update_flash_args_common``, ``process_board_version``, ...) reassign
   the variables per SKU/FAB/chip SKU when flash.sh calls them. Each function that assigns a forked
   name is wrapped, at the end of the forked file (after every function it defines), so that after
   the original runs a reference name is mapped to its fork. The wrapper re-wraps when the conf
   is sourced again, keeps the hook's exit status, and maps only exact reference names: a value
   the fork plan does not know stays untouched. flash.sh and l4t_initrd_flash.sh source confs
   in bash, which the wrapper relies on (``declare -f``).

Variables the plan does not fork (``DTB_FILE``, ``SCR_CONFIG``, ``PMIC_CONFIG``, ...) are never
touched; :func:`check_untouched` proves it line by line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.carrier.naming import CarrierNames
from pytest_jetson.carrier.shellconf import Assignment, ConfChain, parse


@dataclass(frozen=True)
class ConfEdit:
    """The rewritten conf text and what was done to it."""

    text: str
    in_place: tuple[str, ...]
    """``VAR@line`` rewritten in place."""
    overrides: tuple[str, ...]
    """Variables given an override after the last ``source`` line."""
    wrapped: tuple[str, ...]
    """Hook functions wrapped with the flash-time remap."""
    expected: tuple[str, ...]
    """Text that must be present in the written file (re-grepped after writing)."""


def _marker(names: CarrierNames, which: str) -> str:
    arrow = ">>>" if which == "begin" else "<<<"
    return f"# {arrow} pytest-jetson derive-carrier {names.custom_key}: flash-time remap {arrow}"


def _override_marker(names: CarrierNames) -> str:
    return (
        f"# pytest-jetson derive-carrier {names.custom_key}: BCT forks for values set in "
        "the sourced .conf.common files"
    )


def _assignment_line(name: str, value: str) -> str:
    return f'{name}="{value}";'


def _rewrite_line(line: str, assignment: Assignment, new_value: str) -> str:
    head, sep, rhs = line.partition(assignment.op)
    if not sep:
        return line
    return head + sep + rhs.replace(assignment.value, new_value, 1)


def _remap_block(
    names: CarrierNames, forks: Mapping[str, Mapping[str, str]], hooks: list[str]
) -> str:
    tag = f"_jetson_carrier_{names.shell_tag}"
    out = [
        _marker(names, "begin"),
        "# Hooks of the sourced .conf.common files reassign the variables below per SKU/FAB/chip",
        "# SKU at flash time. Each is wrapped so that a reference BCT name becomes its",
        f"# {names.custom_key} fork after the hook runs; any other value is left alone.",
        f"{tag}_remap()",
        "{",
    ]
    for variable in sorted(forks):
        mapping = forks[variable]
        if not mapping:
            continue
        out.append(f'\tcase "${{{variable}}}" in')
        for ref, fork in sorted(mapping.items()):
            out.append(f'\t"{ref}") {variable}="{fork}";;')
        out.append("\tesac;")
    out += [
        "}",
        f"{tag}_wrap()",
        "{",
        '\tlocal hook="${1}";',
        "\tlocal body;",
        '\tbody="$(declare -f "${hook}")" || return 0;',
        f'\tcase "${{body}}" in *{tag}_remap*) return 0;; esac;',
        f'\teval "{tag}_ref_${{hook}}${{body#"${{hook}}"}}";',
        f'\teval "${{hook}}() {{ local rc=0; {tag}_ref_${{hook}} \\"\\$@\\" || rc=\\$?; '
        f'{tag}_remap; return \\${{rc}}; }}";',
        "}",
    ]
    out += [f"{tag}_wrap {hook};" for hook in hooks]
    out.append(_marker(names, "end"))
    return "\n".join(out) + "\n"


def _replace_block(text: str, names: CarrierNames, block: str) -> str:
    begin, end = _marker(names, "begin"), _marker(names, "end")
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end + "\n")
        return head + block + tail
    if text and not text.endswith("\n"):
        text += "\n"
    return text + block


def rewrite(
    text: str,
    chain: ConfChain,
    forks: Mapping[str, Mapping[str, str]],
    names: CarrierNames,
    *,
    fork_path: Path,
) -> ConfEdit:
    """Apply the three mechanisms to ``text`` (the fork's current content).

    ``chain`` is the reference conf chain as found in the LFT; ``forks`` maps each forked
    variable to ``{reference file name: fork file name}``.
    """
    top = chain.top.path
    own = parse(fork_path, chain.top.path.parent, text)
    lines = list(own.lines)
    in_place: list[str] = []
    expected: list[str] = []
    for assignment in own.assignments:
        mapping = forks.get(assignment.name, {})
        if assignment.op == "=" and assignment.value in mapping:
            new = mapping[assignment.value]
            lines[assignment.line - 1] = _rewrite_line(lines[assignment.line - 1], assignment, new)
            in_place.append(f"{assignment.name}@{assignment.line}")
            expected.append(lines[assignment.line - 1].strip())

    overrides: list[str] = []
    for variable in sorted(forks):
        effective = chain.effective_toplevel(variable)
        if effective is None or effective.file == top or effective.value not in forks[variable]:
            continue
        line = _assignment_line(variable, forks[variable][effective.value])
        expected.append(line)
        if line in (ln.strip() for ln in lines):
            continue
        overrides.append(line)
    if overrides:
        last_source = own.sources[-1].line if own.sources else 0
        marker = _override_marker(names)
        block = [] if marker in lines else [marker]
        lines[last_source:last_source] = block + overrides

    hooks = sorted(
        {
            a.function
            for variable, mapping in forks.items()
            for a in chain.assignments(variable)
            if a.function is not None and a.file != top and a.value in mapping
        }
    )
    new_text = "\n".join(lines) + ("\n" if lines else "")
    if hooks:
        new_text = _replace_block(new_text, names, _remap_block(names, forks, hooks))
        expected.append(_marker(names, "end"))
        expected.extend(f"_jetson_carrier_{names.shell_tag}_wrap {h};" for h in hooks)
    return ConfEdit(
        new_text,
        tuple(in_place),
        tuple(v.split("=", 1)[0] for v in overrides),
        tuple(hooks),
        tuple(expected),
    )


def check_untouched(
    reference: str, forked: str, forks: Mapping[str, object], lft: Path
) -> list[str]:
    """Lines assigning a variable the plan does not fork that differ between the two texts."""
    ref = parse(Path("reference.conf"), lft, reference)
    new = parse(Path("fork.conf"), lft, forked)
    before = [(a.name, a.raw, a.function) for a in ref.assignments if a.name not in forks]
    after = [(a.name, a.raw, a.function) for a in new.assignments if a.name not in forks]
    missing = [f"{n}={raw}" for n, raw, fn in before if (n, raw, fn) not in after]
    return missing


_OVERLAY_LINE = re.compile(r'^\s*OVERLAY_DTB_FILE\+=\s*"?,?([^";]*)"?')


def wire_up_line(names: CarrierNames) -> str:
    """The ``OVERLAY_DTB_FILE+=`` line appended by the overlay wire-up row."""
    return f'OVERLAY_DTB_FILE+=",{names.overlay_dtbo}";'


def wired(text: str, names: CarrierNames) -> bool:
    """Whether ``text`` already appends the carrier overlay to ``OVERLAY_DTB_FILE``."""
    for line in text.splitlines():
        match = _OVERLAY_LINE.match(line)
        if match and names.overlay_dtbo in match.group(1).split(","):
            return True
    return False


def wire_up(text: str, names: CarrierNames) -> str:
    """``text`` with the wire-up line appended at the end (after every hook wrapper)."""
    if text and not text.endswith("\n"):
        text += "\n"
    return text + wire_up_line(names) + "\n"
