"""The four insertions of the nvpower.sh patch, each conditional on its anchor.

nvpower.sh's text differs between releases (R35 has no ``cvb`` block; the R36.4+/R38/R39 text is
unverified), so each insertion looks for its anchor and, when the anchor is missing, is reported
as warn-and-skip — never a silent no-op:

(a) ``cvb`` cascade: a ``[[ "${machine}" =~ "<carrier-id>" ]]`` branch that sets ``cvb=``; the
    custom branch goes before it.
(b) module-SKU narrowing: after every ``machine="<module>-<sku>"`` (a cascade may narrow to the
    reference SKU in more than one branch), the composite key is set when the device tree's
    compatible names the custom carrier.
(c) nvpmodel cascade of ``create_nvpmodel_symlink`` (under the chip's ``SOCFAMILY`` test): a first
    branch for the composite key → the nvpmodel fork.
(d) cvb-keyed nvfancontrol cascade of ``create_nvfancontrol_symlink``: a branch for the custom
    ``cvb`` → the nvfancontrol fork (needs (a)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_jetson.carrier.naming import CarrierNames, p_stripped

INSERTIONS = ("a", "b", "c", "d")


@dataclass(frozen=True)
class Insertion:
    """The outcome of one insertion."""

    key: str
    status: str
    """``inserted``, ``already derived`` or ``warn-skipped``."""
    detail: str
    needle: str = ""
    """Text that proves the insertion is in the file (re-grepped after writing)."""


def _function_span(lines: list[str], name: str) -> tuple[int, int] | None:
    head = re.compile(rf"^\s*(?:function\s+)?{re.escape(name)}\s*\(\s*\)")
    for i, line in enumerate(lines):
        if head.match(line):
            for j in range(i + 1, len(lines)):
                if lines[j].startswith("}"):
                    return i, j
            return i, len(lines)
    return None


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _as_elif(line: str) -> str:
    return re.sub(r"^(\s*)if\b", r"\1elif", line, count=1)


def _branch_before(lines: list[str], at: int, condition: str, body: str) -> None:
    """Insert ``if/elif <condition>; then <body>`` as the branch before line ``at``."""
    indent = _indent(lines[at])
    keyword = "elif" if lines[at].lstrip().startswith("elif") else "if"
    if keyword == "if":
        lines[at] = _as_elif(lines[at])
    lines[at:at] = [f"{indent}{keyword} {condition}; then", f"{indent}\t{body}"]


def _cvb_token(lines: list[str], names: CarrierNames) -> str:
    number = p_stripped(names.carrier_id)
    for line in lines:
        match = re.match(r'^\s*cvb="?([^"\s]+)"?', line)
        if match and number and match.group(1) == number:
            return names.file_token(p_stripped_family=True)
    return names.custom_id


def _conf_dir(lines: list[str], span: tuple[int, int], fallback: str) -> str:
    for line in lines[span[0] : span[1]]:
        match = re.search(r'conf_file="([^"$]*/)[^"/]*"', line)
        if match:
            return match.group(1)
    return fallback


def patch(
    text: str, names: CarrierNames, *, nvpmodel_fork: str | None, fan_fork: str | None
) -> tuple[str, list[Insertion]]:
    """Apply the four insertions to ``text``; returns the new text and each outcome."""
    lines = text.splitlines()
    results: list[Insertion] = []
    cvb = _cvb_token(lines, names)
    composite = names.machine_key
    chip = names.chip.prefix

    # (a) cvb cascade
    needle_a = f'[[ "${{machine}}" =~ "{names.custom_id}" ]]; then'
    anchor_a = re.compile(
        rf'^\s*(?:el)?if\s+\[\[\s*"?\$\{{?machine\}}?"?\s*=~\s*"?{re.escape(names.carrier_id)}"?\s*\]\]'
    )
    if any(needle_a in ln for ln in lines) and any(f'cvb="{cvb}"' in ln for ln in lines):
        results.append(Insertion("a", "already derived", "cvb branch present", needle_a))
    else:
        at = next(
            (
                i
                for i, ln in enumerate(lines)
                if anchor_a.match(ln) and any("cvb=" in n for n in lines[i + 1 : i + 3])
            ),
            None,
        )
        if at is None:
            results.append(
                Insertion(
                    "a", "warn-skipped", f"no cvb branch for {names.carrier_id} in nvpower.sh"
                )
            )
        else:
            _branch_before(
                lines, at, f'[[ "${{machine}}" =~ "{names.custom_id}" ]]', f'cvb="{cvb}"'
            )
            results.append(Insertion("a", "inserted", f'cvb="{cvb}" branch', needle_a))

    # (b) composite machine key inside the module-SKU narrowing
    needle_b = f'machine="{composite}"'
    anchor_b = f'machine="{names.module_key}"'
    narrowing = re.compile(rf"""^\s*machine=(["']?){re.escape(names.module_key)}\1\s*;?\s*$""")
    if any(needle_b in ln for ln in lines):
        results.append(Insertion("b", "already derived", "composite machine key present", needle_b))
    else:
        hits = [i for i, ln in enumerate(lines) if narrowing.match(ln)]
        if not hits:
            results.append(Insertion("b", "warn-skipped", f"no {anchor_b} narrowing in nvpower.sh"))
        else:
            compat = names.compatible[0]
            for at in reversed(hits):
                indent = _indent(lines[at])
                lines[at + 1 : at + 1] = [
                    f"{indent}if [[ \"$(tr -d '\\0' < /proc/device-tree/compatible 2>/dev/null)\" "
                    f'=~ "{compat}" ]]; then',
                    f"{indent}\t{needle_b}",
                    f"{indent}fi",
                ]
            results.append(Insertion("b", "inserted", f"{needle_b} after {anchor_b}", needle_b))

    # (c) nvpmodel cascade, (d) cvb-keyed nvfancontrol cascade
    results.append(
        _cascade(
            lines,
            "c",
            "create_nvpmodel_symlink",
            chip,
            nvpmodel_fork,
            f'[ "${{machine}}" = "{composite}" ]',
            "/etc/nvpmodel/",
            None,
        )
    )
    a_ok = results[0].status != "warn-skipped"
    results.append(
        _cascade(
            lines,
            "d",
            "create_nvfancontrol_symlink",
            chip,
            fan_fork,
            f'[ "${{cvb}}" = "{cvb}" ]',
            "/etc/nvpower/nvfancontrol/",
            None if a_ok else "needs the cvb branch of (a), which was skipped",
        )
    )
    return "\n".join(lines) + "\n", results


def _cascade(
    lines: list[str],
    key: str,
    function: str,
    chip: str,
    fork: str | None,
    condition: str,
    default_dir: str,
    blocked: str | None,
) -> Insertion:
    if fork is None:
        return Insertion(key, "warn-skipped", f"no fork to point {function} at")
    span = _function_span(lines, function)
    if span is None:
        return Insertion(key, "warn-skipped", f"no {function}() in nvpower.sh")
    conf = f'conf_file="{_conf_dir(lines, span, default_dir)}{fork}"'
    if any(conf in ln for ln in lines[span[0] : span[1]]):
        return Insertion(key, "already derived", f"{fork} branch present", conf)
    if blocked:
        return Insertion(key, "warn-skipped", blocked)
    family = re.compile(rf'^\s*(?:el)?if\s+\[\s*"\$\{{SOCFAMILY\}}"\s*=\s*"{re.escape(chip)}"\s*\]')
    start = next((i for i in range(*span) if family.match(lines[i])), None)
    if start is None:
        return Insertion(key, "warn-skipped", f"no {chip} SOCFAMILY block in {function}()")
    want = "cvb" if key == "d" else "machine"
    branch = re.compile(rf"^\s*(?:el)?if\s+.*\$\{{?{want}\b")
    at = None
    for i in range(start + 1, span[1]):
        if re.match(r"^\s*(?:el)?if\s+\[\s*\"\$\{SOCFAMILY\}\"", lines[i]):
            break
        if branch.match(lines[i]):
            at = i
            break
    if at is None:
        what = "cvb-keyed nvfancontrol" if key == "d" else "nvpmodel"
        return Insertion(key, "warn-skipped", f"no {what} cascade under {chip} in {function}()")
    _branch_before(lines, at, condition, conf)
    return Insertion(key, "inserted", f"{condition} → {fork}", conf)
