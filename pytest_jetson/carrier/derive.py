"""derive-carrier: gates, one discovery pass, a plan computed in full, then the commit units.

Units, in order, each all-or-nothing (see :mod:`.commit`):

1. overlay tracker — every template row in ONE commit (flash-conf fork with its targeted
   rewrites, the flash-conf symlink, MB1/MB2 BCT forks, BPMP DTB forks when opted in, nvpmodel,
   nvfancontrol); reference-named files are never staged;
2. hardware repo — DT overlay skeleton + Makefile registration, pushed to ``origin`` if any;
3. overlay tracker — ``OVERLAY_DTB_FILE+=`` wire-up on the flash-conf fork;
4. overlay tracker — pristine ``nvpower.sh``;
5. overlay tracker — the ``nvpower.sh`` customisation (four anchored insertions).

Everything is planned before the first write, so a refusal (a conflicting file, an unplaceable
Makefile entry, a verification miss) costs nothing; an error inside a unit rolls that unit back
and reports the rows already done.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jetson.carrier import discovery, flashconf, nvpower, overlay
from pytest_jetson.carrier.bct import fork_content, self_reference
from pytest_jetson.carrier.commit import CommitUnit, GitRepo
from pytest_jetson.carrier.decision import CommitGate
from pytest_jetson.carrier.errors import DeriveFailed, DeriveRefused, VerificationMiss
from pytest_jetson.carrier.record import (
    ROW_NAMES,
    CommitRecord,
    DerivedCarrier,
    RowResult,
    RowStatus,
)
from pytest_jetson.carrier.workspace import Workspace, check
from pytest_jetson.profile import Profile

TEMPLATE_ROWS = ROW_NAMES[: ROW_NAMES.index("dt overlay skeleton")]
"""The rows whose files land in the one overlay-tracker template commit."""


@dataclass
class _File:
    row: str
    rel: str
    data: bytes | None = None
    link: str | None = None
    mode: int | None = None
    expected: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Row:
    name: str
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    written: bool = False
    already: bool = False
    optional: bool = False

    def result(self) -> RowResult:
        status: RowStatus
        if self.written:
            status = "forked"
        elif self.already:
            status = "already derived"
        elif self.skipped:
            status = "warn-skipped"
        else:
            status = "skipped"
        return RowResult(self.name, status, tuple(self.files), tuple(self.notes + self.skipped))


@dataclass(frozen=True)
class _HardwarePlan:
    overlay_rel: str
    makefile_rel: str
    makefile: str | None
    """The Makefile with the registration, None when it is already registered."""
    has_skeleton: bool


@dataclass(frozen=True)
class _NvpowerPlan:
    tracked: bool
    patched: str
    results: list[nvpower.Insertion]


class _Derivation:
    def __init__(self, ws: Workspace, found: discovery.Discovery, *, bpmp: bool) -> None:
        self.ws = ws
        self.found = found
        self.bpmp = bpmp
        self.names = ws.names
        self.tracker = GitRepo(ws.tracker)
        self.hardware = GitRepo(ws.hardware)
        self.rows: dict[str, _Row] = {}
        self.done: list[str] = []
        self.commits: list[CommitRecord] = []
        self.pushed: str | None = None
        self.warnings: list[str] = []
        self.fork_conf = self.names.conf_fork(Path(ws.real_conf).name)

    def row(self, name: str) -> _Row:
        return self.rows.setdefault(name, _Row(name))

    # --- planning -----------------------------------------------------------------------

    def _tracked_text(self, rel: str, fallback: Path) -> tuple[str, bool]:
        path = self.ws.tracker / rel
        if rel in self.tracker.tracked([rel]) and path.is_file():
            return path.read_text(encoding="utf-8"), True
        return fallback.read_text(encoding="utf-8"), False

    def plan_template(self) -> list[_File]:
        ws, found, names = self.ws, self.found, self.names
        files: list[_File] = []
        for row, notes in found.row_notes.items():
            self.row(row).notes.extend(notes)
        for row, warnings in found.row_warnings.items():
            self.row(row).skipped.extend(warnings)
        forks = found.var_forks()
        base, _tracked = self._tracked_text(self.fork_conf, ws.lft / ws.real_conf)
        edit = flashconf.rewrite(base, found.chain, forks, names, fork_path=ws.lft / ws.real_conf)
        touched = flashconf.check_untouched(base, edit.text, forks, ws.lft)
        if touched:
            raise VerificationMiss(
                "the flash-conf rewrite changed variables it must leave at reference values: "
                + ", ".join(touched)
            )
        conf = _File("flash-conf", self.fork_conf, edit.text.encode("utf-8"))
        conf.expected = [(e, "targeted rewrite") for e in edit.expected]
        files.append(conf)
        conf_row = self.row("flash-conf")
        conf_row.notes.append(f"forked from {ws.real_conf}")
        if edit.in_place:
            conf_row.notes.append("rewritten in place: " + ", ".join(edit.in_place))
        if edit.overrides:
            conf_row.notes.append(
                "override after the last source line: " + ", ".join(edit.overrides)
            )
        if edit.wrapped:
            conf_row.notes.append(
                "hooks that reassign forked variables at flash time, wrapped with the remap: "
                + ", ".join(edit.wrapped)
            )
        if not ws.conf_is_symlink:
            self.row("flash-conf symlink").skipped.append(
                f"{ws.profile.reference_devkit.flash_config} is not a symlink: treated as the real "
                "conf; no symlink wrapper"
            )
        elif names.custom_flash_conf == self.fork_conf:
            self.row("flash-conf symlink").notes.append(
                f"{names.custom_flash_conf} is the fork itself; no symlink needed"
            )
        else:
            files.append(_File("flash-conf symlink", names.custom_flash_conf, link=self.fork_conf))
        for fork in found.bcts.forks.values():
            data, expected = fork_content(fork)
            item = _File(fork.row, fork.fork_rel, data)
            item.expected = [(e, "#include points at the fork") for e in expected]
            files.append(item)
            self.row(fork.row).notes.append(f"{fork.ref_name} → {fork.fork_name} ({fork.branch})")
            note = self_reference(fork, names)
            if note:
                self.row(fork.row).notes.append(note)
        if self.bpmp:
            for folder, ref, new in found.bpmp:
                files.append(
                    _File("bpmp dtb", f"{folder}/{new}", (ws.lft / folder / ref).read_bytes())
                )
                self.row("bpmp dtb").notes.append(f"{ref} → {new}")
        for row_name, rootfs_forks in (
            ("nvpmodel", found.nvpmodel),
            ("nvfancontrol", found.nvfancontrol),
        ):
            for rfork in rootfs_forks:
                source = ws.lft / rfork.ref_rel
                mode = source.stat().st_mode & 0o777
                files.append(_File(row_name, rfork.fork_rel, source.read_bytes(), mode=mode))
                self.row(row_name).notes.append(f"{rfork.ref_name} → {rfork.fork_name}")
        for name in TEMPLATE_ROWS:
            self.row(name)
        self.row("bpmp dtb").optional = True
        return files

    def _unchanged(self, item: _File, tracked: set[str]) -> bool:
        if item.rel not in tracked:
            return False
        path = self.ws.tracker / item.rel
        if item.link is not None:
            return path.is_symlink() and os.readlink(path) == item.link
        if item.row == "flash-conf":
            return path.is_file() and path.read_bytes() == item.data
        return True  # a tracked fork is already derived; never overwrite it

    def check_conflicts(self, files: list[_File], tracked: set[str]) -> None:
        conflicts = []
        for item in files:
            path = self.ws.tracker / item.rel
            if item.rel in tracked:
                continue
            if path.is_symlink():
                if item.link is None or os.readlink(path) != item.link:
                    conflicts.append(item.rel)
            elif path.exists() and (
                item.data is None or not path.is_file() or path.read_bytes() != item.data
            ):
                conflicts.append(item.rel)
        modified = self.tracker.modified([i.rel for i in files if i.rel in tracked])
        if conflicts or modified:
            lines = [f"  {p} (untracked, differs from the fork)" for p in conflicts]
            lines += [f"  {p} (uncommitted changes)" for p in modified]
            raise DeriveRefused(
                f"files in the overlay tracker {self.ws.tracker} are in the way:\n"
                + "\n".join(lines)
                + "\nmove them away or commit them, then run derive-carrier again"
            )

    # --- units --------------------------------------------------------------------------

    def run_template(self, gate: CommitGate, files: list[_File], forbidden: set[str]) -> None:
        tracked = self.tracker.tracked(i.rel for i in files)
        self.check_conflicts(files, tracked)
        pending = [i for i in files if not self._unchanged(i, tracked)]
        for item in files:
            row = self.row(item.row)
            row.files.append(item.rel)
            if item not in pending:
                row.already = True
        if not pending:
            self.done.extend(r for r in TEMPLATE_ROWS if self.rows[r].already)
            return
        self.done.extend(
            r for r in TEMPLATE_ROWS if self.rows[r].already and all(i.row != r for i in pending)
        )
        with CommitUnit(
            self.tracker, "overlay-tracker", rows_done=self.done, forbidden=forbidden
        ) as unit:
            unit.rows = [r for r in TEMPLATE_ROWS if any(i.row == r for i in pending)]
            for item in pending:
                if item.link is not None:
                    unit.symlink(item.rel, item.link)
                else:
                    assert item.data is not None
                    unit.write(item.rel, item.data, mode=item.mode)
                for needle, what in item.expected:
                    unit.expect(item.rel, needle, what)
                self.row(item.row).written = True
            message = self._template_message(pending)
            record = unit.commit(gate, message)
        if record is not None:
            self.commits.append(record)

    def _template_message(self, pending: list[_File]) -> str:
        lines = [
            f"derive-carrier: fork {self.ws.real_conf} for the {self.names.custom_key} carrier",
            "",
            f"Template forks from {self.ws.lft}:",
        ]
        for item in pending:
            lines.append(f"  {item.row}: {item.rel}" + (f" -> {item.link}" if item.link else ""))
        return "\n".join(lines) + "\n"

    def plan_hardware(self) -> _HardwarePlan:
        overlay_rel = f"{self.ws.overlay_dir_rel}/{self.names.overlay_stem}.dts"
        makefile_rel = f"{self.ws.overlay_dir_rel}/Makefile"
        makefile = self.ws.hardware / makefile_rel
        if not makefile.is_file():
            raise DeriveRefused(
                f"{makefile} is missing: the overlay directory of the hardware repository has no "
                "Makefile to register the overlay in (check the hardware repository checkout)"
            )
        text = makefile.read_text(encoding="utf-8")
        new_text: str | None = None
        if not overlay.registration_present(text, self.names.overlay_dtbo):
            try:
                new_text = overlay.register(text, self.names.overlay_dtbo)
            except ValueError as exc:
                raise DeriveRefused(f"{makefile}: cannot place the dtbo-y entry: {exc}") from None
        has_skeleton = overlay_rel in self.hardware.tracked([overlay_rel])
        conflicts = self.hardware.modified([makefile_rel]) if new_text is not None else []
        path = self.ws.hardware / overlay_rel
        in_the_way = path.is_symlink() or path.exists()
        if (
            not has_skeleton
            and in_the_way
            and (
                not path.is_file()
                or path.read_text(encoding="utf-8") != overlay.skeleton(self.names)
            )
        ):
            conflicts.append(overlay_rel)
        if conflicts:
            raise DeriveRefused(
                f"files in the hardware repository {self.ws.hardware} are in the way: "
                + ", ".join(conflicts)
                + "; move them away or commit them, then run derive-carrier again"
            )
        return _HardwarePlan(overlay_rel, makefile_rel, new_text, has_skeleton)

    def run_hardware(self, gate: CommitGate, plan: _HardwarePlan) -> None:
        overlay_rel, makefile_rel, makefile_text = (
            plan.overlay_rel,
            plan.makefile_rel,
            plan.makefile,
        )
        has_skeleton = plan.has_skeleton
        skeleton_row, make_row = self.row("dt overlay skeleton"), self.row("overlay makefile")
        skeleton_row.files.append(overlay_rel)
        make_row.files.append(makefile_rel)
        skeleton_row.already = has_skeleton
        make_row.already = makefile_text is None
        if not (has_skeleton and makefile_text is None):
            with CommitUnit(self.hardware, "hardware", rows_done=self.done) as unit:
                unit.rows = [
                    row.name
                    for row, needed in (
                        (skeleton_row, not has_skeleton),
                        (make_row, makefile_text is not None),
                    )
                    if needed
                ]
                if not has_skeleton:
                    unit.write(overlay_rel, overlay.skeleton(self.names))
                    unit.expect(overlay_rel, f'"{self.names.compatible[0]}"', "compatible")
                    unit.expect(overlay_rel, "/plugin/;", "plugin overlay")
                    skeleton_row.written = True
                if makefile_text is not None:
                    unit.write(makefile_rel, makefile_text)
                    unit.expect(makefile_rel, f"+= {self.names.overlay_dtbo}", "registration")
                    make_row.written = True
                record = unit.commit(
                    gate,
                    f"derive-carrier: add the {self.names.overlay_stem} DT overlay\n\n"
                    f"Skeleton for the {self.names.custom_name} carrier on "
                    f"{self.names.module_key}, "
                    f"registered in {makefile_rel}.\n",
                )
            if record is not None:
                self.commits.append(record)
        self.done.extend(r.name for r in (skeleton_row, make_row) if r.already and not r.written)
        self.push()

    def push(self) -> None:
        if not self.hardware.has_origin():
            self.row("dt overlay skeleton").notes.append(
                "hardware repository has no origin; not pushed"
            )
            return
        branch = self.hardware.branch()
        if branch is None:
            self.warnings.append("hardware repository HEAD is detached; not pushed")
            return
        if self.hardware.on_origin(branch):
            self.pushed = f"origin/{branch}"
            return
        try:
            self.hardware.push(branch)
        except Exception as exc:
            raise DeriveFailed(
                f"committed in {self.ws.hardware} but the push to origin failed: {exc}; "
                f"push by hand: git -C {self.ws.hardware} push origin {branch}",
                rows_done=self.done,
            ) from exc
        self.pushed = f"origin/{branch}"

    def run_wire_up(self, gate: CommitGate) -> None:
        row = self.row("overlay wire-up")
        row.files.append(self.fork_conf)
        text = (self.ws.tracker / self.fork_conf).read_text(encoding="utf-8")
        for assignment in self.found.chain.assignments("OVERLAY_DTB_FILE"):
            if assignment.function and assignment.op == "=":
                row.notes.append(
                    f"{assignment.function}() ({assignment.file.name}:{assignment.line}) resets "
                    "OVERLAY_DTB_FILE at flash time and may drop the overlay"
                )
        if flashconf.wired(text, self.names):
            row.already = True
            self.done.append(row.name)
            return
        with CommitUnit(self.tracker, "overlay-tracker", rows_done=self.done) as unit:
            unit.rows = [row.name]
            unit.write(self.fork_conf, flashconf.wire_up(text, self.names))
            unit.expect(self.fork_conf, flashconf.wire_up_line(self.names), "overlay wire-up")
            row.written = True
            record = unit.commit(
                gate,
                f"derive-carrier: wire {self.names.overlay_dtbo} into {self.fork_conf}\n\n"
                "Appends the carrier overlay to OVERLAY_DTB_FILE; the base DTB stays at the "
                f"reference ({self.found.reference.get('DTB_FILE') or 'DTB_FILE'}).\n",
            )
        if record is not None:
            self.commits.append(record)

    def plan_nvpower(self) -> _NvpowerPlan | None:
        """Read nvpower.sh (the tracker's if tracked, else the BSP's) and plan the insertions."""
        rel = discovery.NVPOWER_REL
        tracked = rel in self.tracker.tracked([rel])
        base = self.ws.tracker / rel if tracked else self.ws.lft / rel
        if not base.is_file():
            return None
        if tracked and self.tracker.modified([rel]):
            raise DeriveRefused(
                f"{self.ws.tracker / rel} has uncommitted changes: commit them first, then run "
                "derive-carrier again"
            )
        text = base.read_text(encoding="utf-8")
        nvpmodel_fork = self._nvpmodel_target(text)
        fan_fork = next((f.fork_name for f in self.found.nvfancontrol if f.primary), None)
        patched, results = nvpower.patch(
            text,
            self.names,
            nvpmodel_fork=nvpmodel_fork,
            fan_fork=fan_fork,
        )
        return _NvpowerPlan(tracked, patched, results)

    def _nvpmodel_target(self, text: str) -> str | None:
        """The nvpmodel fork nvpower.sh should name; ``${super}``-aware when the BSP has a
        ``_super`` variant and the cascade picks it with ``${super}`` (Orin Nano, R36.4+)."""
        primary = next((f for f in self.found.nvpmodel if f.primary), None)
        if primary is None:
            return None
        stem = primary.ref_name.removesuffix(".conf")
        has_super = any(f.ref_name == f"{stem}_super.conf" for f in self.found.nvpmodel)
        if has_super and f"{stem}${{super}}.conf" in text:
            suffix = primary.fork_name.removesuffix(".conf")[len(stem) :]
            return f"{stem}${{super}}{suffix}.conf"
        return primary.fork_name

    def run_nvpower(self, gate: CommitGate, plan: _NvpowerPlan | None) -> None:
        pristine, custom = self.row("nvpower.sh pristine"), self.row("nvpower.sh customisation")
        rel = discovery.NVPOWER_REL
        source = self.ws.lft / rel
        pristine.files.append(rel)
        custom.files.append(rel)
        if plan is None:
            pristine.skipped.append(f"{rel} is missing from this BSP")
            custom.skipped.append(f"{rel} is missing from this BSP")
            return
        if plan.tracked:
            pristine.already = True
            self.done.append(pristine.name)
        else:
            with CommitUnit(self.tracker, "overlay-tracker", rows_done=self.done) as unit:
                unit.rows = [pristine.name]
                unit.write(rel, source.read_bytes(), mode=source.stat().st_mode & 0o777)
                pristine.written = True
                record = unit.commit(
                    gate,
                    f"derive-carrier: track the pristine {rel}\n\nUnmodified from {self.ws.lft}.\n",
                )
            if record is not None:
                self.commits.append(record)
        patched, results = plan.patched, plan.results
        for item in results:
            line = f"({item.key}) {item.status}: {item.detail}"
            if item.status == "warn-skipped":
                custom.skipped.append(line)
            else:
                custom.notes.append(line)
        inserted = [r for r in results if r.status == "inserted"]
        if not inserted:
            if any(r.status == "already derived" for r in results):
                custom.already = True
                self.done.append(custom.name)
            return
        with CommitUnit(self.tracker, "overlay-tracker", rows_done=self.done) as unit:
            unit.rows = [custom.name]
            unit.write(rel, patched)
            for item in results:
                if item.needle:
                    unit.expect(rel, item.needle, f"nvpower.sh insertion ({item.key})")
            custom.written = True
            keys = ", ".join(f"({r.key})" for r in inserted)
            record = unit.commit(
                gate,
                f"derive-carrier: nvpower.sh branches for the {self.names.custom_key} carrier\n\n"
                f"Insertions {keys}; composite machine key {self.names.machine_key}.\n",
            )
        if record is not None:
            self.commits.append(record)

    # --- record -------------------------------------------------------------------------

    def record(self) -> DerivedCarrier:
        order = [
            *TEMPLATE_ROWS,
            "dt overlay skeleton",
            "overlay makefile",
            "overlay wire-up",
            "nvpower.sh pristine",
            "nvpower.sh customisation",
        ]
        rows = []
        for name in order:
            row = self.rows.get(name)
            if row is None or (name == "bpmp dtb" and not self.bpmp):
                continue
            rows.append(row.result())
        skipped = tuple(
            f"{r.name}: {s}"
            for r in self.rows.values()
            for s in r.skipped
            if r.name != "bpmp dtb" or self.bpmp
        )
        if not self.bpmp:
            decision = "not opted in (the reference BPMP DTB is kept)"
        elif self.found.bpmp:
            decision = "forked: " + ", ".join(f"{r} -> {n}" for _d, r, n in self.found.bpmp)
        else:
            decision = "opted in, nothing forked: " + "; ".join(self.rows["bpmp dtb"].skipped)
        return DerivedCarrier(
            custom_key=self.names.custom_key,
            overlay_tracker=self.ws.tracker,
            hardware_repo=self.ws.hardware,
            flash_conf_fork=self.fork_conf,
            overlay_path=self.ws.hardware
            / self.ws.overlay_dir_rel
            / f"{self.names.overlay_stem}.dts",
            bpmp=decision,
            rows=tuple(rows),
            commits=tuple(self.commits),
            pushed=self.pushed,
            warnings=tuple(self.warnings),
            skipped=skipped,
        )


def derive_carrier(
    profile: Profile,
    gate: CommitGate,
    *,
    bpmp: bool = False,
    echo: Callable[[str], None] | None = None,
) -> DerivedCarrier:
    """Run the whole fork plan of derive-carrier for ``profile``.

    ``gate(repo, staged, message)`` is asked before every commit (accept / edit / cancel).
    ``bpmp`` opts in to the BPMP DTB fork. ``echo`` receives the printed summary.
    Raises :class:`DeriveRefused` when a gate refuses (nothing touched),
    :class:`CommitCancelled` when the gate cancels (index left staged) and
    :class:`DeriveFailed` when a unit fails part-way (that unit restored; rows done listed).
    """
    ws = check(profile)
    for repo in (ws.tracker, ws.hardware):
        staged = GitRepo(repo).staged()
        if staged:
            raise DeriveRefused(
                f"{repo} has staged changes "
                "(a cancelled derive-carrier leaves its commit staged):\n"
                + "\n".join(f"  {p}" for p in staged)
                + f"\ncommit them (git -C {repo} commit) or unstage them "
                f"(git -C {repo} restore --staged .), then run derive-carrier again"
            )
    found = discovery.discover(ws, bpmp=bpmp)
    run = _Derivation(ws, found, bpmp=bpmp)
    template = run.plan_template()
    hardware_plan = run.plan_hardware()
    nvpower_plan = run.plan_nvpower()
    forbidden = discovery.reference_rel_paths(found, ws)
    run.run_template(gate, template, forbidden)
    run.run_hardware(gate, hardware_plan)
    run.run_wire_up(gate)
    run.run_nvpower(gate, nvpower_plan)
    result = run.record()
    if echo is not None:
        echo(result.summary())
    return result
