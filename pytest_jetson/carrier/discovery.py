"""The single discovery pass: everything the rows need, read once, listings never truncated.

It reads the reference conf chain, the BCT files the forked variables name (and their board-keyed
includes), the two rootfs conf directories, the BPMP DTB names (when opted in), nvpower.sh and
the overlay Makefile — nothing else of the tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jetson.carrier import bct, rootfs
from pytest_jetson.carrier.shellconf import ConfChain, read_chain
from pytest_jetson.carrier.workspace import Workspace

ROW_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "mb1 pinmux": ("PINMUX_CONFIG",),
    "mb1 gpio": ("GPIO_CONFIG", "GPIOINT_CONFIG"),
    "mb1 padvoltage": ("PMC_CONFIG",),
    "mb1 misc": ("MISC_CONFIG",),
    "mb2 misc": ("MB2_BCT",),
}
"""The BCT rows and the flash-conf variables whose files they fork."""

REFERENCE_ONLY = ("DTB_FILE", "TBCDTB_FILE")
"""Captured to name the overlay; never rewritten."""

NVPOWER_REL = "rootfs/etc/systemd/nvpower.sh"


@dataclass
class Discovery:
    """What the discovery pass found."""

    lft: Path
    chain: ConfChain
    target_board: str
    bcts: bct.BctDiscovery
    row_notes: dict[str, list[str]]
    row_warnings: dict[str, list[str]]
    """Warn-and-skip reasons per row (a row with forks can still carry warnings)."""
    nvpmodel: list[rootfs.RootfsFork]
    nvfancontrol: list[rootfs.RootfsFork]
    bpmp: list[tuple[str, str, str]] = field(default_factory=list)
    """``(rel_dir, reference name, fork name)`` of each BPMP DTB fork (opt-in)."""
    reference: dict[str, str] = field(default_factory=dict)
    """Reference-only values (``DTB_FILE``...)."""

    def var_forks(self) -> dict[str, dict[str, str]]:
        """``{variable: {reference name: fork name}}`` for every forked variable value."""
        out: dict[str, dict[str, str]] = {}
        for variables in ROW_VARIABLES.values():
            for variable in variables:
                mapping = {}
                for assignment in self.chain.assignments(variable):
                    if not assignment.literal:
                        continue
                    path = bct.locate(self.lft, self.target_board, assignment.value)
                    if path is None:
                        continue
                    fork = self.bcts.forks.get(path.resolve())
                    if fork is not None:
                        mapping[assignment.value] = fork.fork_name
                if mapping:
                    out[variable] = mapping
        if self.bpmp:
            out["BPFDTB_FILE"] = {ref: new for _d, ref, new in self.bpmp}
        return out


def discover(ws: Workspace, *, bpmp: bool) -> Discovery:
    """Run the discovery pass over the LFT of ``ws``."""
    lft = ws.lft
    chain = read_chain(lft / ws.real_conf, lft)
    target_board = chain.value_of("target_board", "generic") or "generic"
    notes: dict[str, list[str]] = {}
    warn: dict[str, list[str]] = {}
    for line in chain.unresolved:
        notes.setdefault("flash-conf", []).append(
            f"{line.file.name}:{line.line}: cannot resolve {line.text.strip()!r}; not read"
        )
    wanted: list[tuple[str, str, str]] = []
    for row, variables in ROW_VARIABLES.items():
        for variable in variables:
            assignments = chain.assignments(variable)
            if not assignments:
                if variable == "GPIO_CONFIG":
                    notes.setdefault(row, []).append(
                        "GPIO_CONFIG is not set by this conf chain (as on real R36+ trees); "
                        "the GPIO dtsi is forked through the pinmux #include chain"
                    )
                else:
                    warn.setdefault(row, []).append(f"{variable} is not set by the conf chain")
                continue
            for assignment in assignments:
                where = f"{assignment.file.name}:{assignment.line}"
                if not assignment.literal:
                    warn.setdefault(row, []).append(
                        f"{variable}={assignment.value} ({where}) depends on a shell expansion; "
                        "not forked — flash.sh may pick the reference file there"
                    )
                    continue
                wanted.append((row, variable, assignment.value))
    bcts = bct.discover(lft, target_board, ws.names, dict.fromkeys(wanted))
    for row, message in bcts.warnings:
        warn.setdefault(row, []).append(message)
    nvpmodel, nvp_notes = rootfs.nvpmodel(lft, ws.names)
    nvfan, fan_notes = rootfs.nvfancontrol(lft, ws.names)
    (warn if not nvpmodel else notes).setdefault("nvpmodel", []).extend(nvp_notes)
    (warn if not nvfan else notes).setdefault("nvfancontrol", []).extend(fan_notes)
    found = Discovery(lft, chain, target_board, bcts, notes, warn, nvpmodel, nvfan)
    found.reference = {v: chain.value_of(v) for v in REFERENCE_ONLY}
    if bpmp:
        found.bpmp = _bpmp(ws, chain, target_board, warn)
    return found


def _bpmp(
    ws: Workspace, chain: ConfChain, target_board: str, warn: dict[str, list[str]]
) -> list[tuple[str, str, str]]:
    forks: list[tuple[str, str, str]] = []
    values = dict.fromkeys(a.value for a in chain.assignments("BPFDTB_FILE") if a.literal)
    if not values:
        warn.setdefault("bpmp dtb", []).append(
            "BPFDTB_FILE is not set to a literal name by the conf chain"
        )
    for value in values:
        folder = next(
            (
                d
                for d in (f"bootloader/{target_board}", "bootloader")
                if (ws.lft / d / value).is_file()
            ),
            None,
        )
        if folder is None:
            warn.setdefault("bpmp dtb", []).append(
                f"BPFDTB_FILE={value}: not found in bootloader/{target_board}/ on this BSP"
            )
            continue
        new = ws.names.bpmp_fork(value)
        if new is None:
            warn.setdefault("bpmp dtb", []).append(
                f"{value} does not carry the carrier number of {ws.names.carrier_id} "
                "(the Nano names 3509, super 3768); not forked"
            )
            continue
        forks.append((folder, value, new))
    return forks


def reference_rel_paths(found: Discovery, ws: Workspace) -> set[str]:
    """LFT-relative paths of every reference file a fork is made from (never staged)."""
    refs = {ws.real_conf, ws.profile.reference_devkit.flash_config}
    refs |= {f.ref_rel for f in found.bcts.forks.values()}
    refs |= {f.ref_rel for f in (*found.nvpmodel, *found.nvfancontrol)}
    refs |= {f"{d}/{r}" for d, r, _n in found.bpmp}
    return {r for r in refs if not _same(r, ws)}


def _same(rel: str, ws: Workspace) -> bool:
    return Path(rel).name == ws.names.custom_flash_conf
