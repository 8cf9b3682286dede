"""Cancel, edit, a missing nvpower.sh anchor and failures part-way: no partial commit, ever."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_jetson.carrier import (
    CommitCancelled,
    CommitDecision,
    DeriveFailed,
    DeriveRefused,
    accept_all,
    derive_carrier,
)

from .conftest import Case, CaseFactory


def heads(case: Case) -> list[str]:
    return [case.git(r, "rev-parse", "HEAD").strip() for r in (case.tracker, case.ws.hardware_repo)]


def test_cancel_leaves_the_index_staged_and_lists_it(make_case: CaseFactory) -> None:
    case = make_case("thor-agx", origin=False)
    before = heads(case)
    seen: list[tuple[Path, tuple[str, ...], str]] = []

    def cancel(repo: Path, staged: Sequence[str], message: str) -> CommitDecision:
        seen.append((repo, tuple(staged), message))
        return CommitDecision.cancel()

    with pytest.raises(CommitCancelled) as info:
        derive_carrier(case.profile, cancel)
    repo, staged, message = seen[0]
    assert repo == case.tracker
    assert "p3834-0008-acme1-0000-nvme.conf" in staged and "acme1-p3834.conf" in staged
    assert message.startswith("derive-carrier: fork p3834-0008-p4071-0000-nvme.conf")
    assert heads(case) == before
    index = case.git(case.tracker, "diff", "--cached", "--name-only").split()
    assert sorted(index) == sorted(staged)
    for path in staged:
        assert path in str(info.value)
    assert "the index is left staged" in str(info.value)
    # a second run refuses until the staged files are resolved
    with pytest.raises(DeriveRefused, match="has staged changes"):
        derive_carrier(case.profile, accept_all)


def test_edit_replaces_the_message(make_case: CaseFactory) -> None:
    case = make_case("orin-nano", form="bsp_sources", origin=False)

    def edit(repo: Path, staged: Sequence[str], message: str) -> CommitDecision:
        return CommitDecision.edit(f"ACME: {message.splitlines()[0]}\n")

    result = derive_carrier(case.profile, edit)
    subjects = case.git(case.tracker, "log", "--format=%s", "-3").splitlines()
    assert all(s.startswith("ACME: derive-carrier:") for s in subjects)
    assert all(c.message.startswith("ACME: ") for c in result.commits)
    assert result.pushed is None


def test_missing_nvpower_anchors_are_warn_and_skip(make_case: CaseFactory) -> None:
    case = make_case("orin-agx", nvpower_cvb=False, pristine=False, origin=False)
    result = derive_carrier(case.profile, accept_all)
    row = result.row("nvpower.sh customisation")
    assert row.status == "forked"
    skipped = [s for s in result.skipped if s.startswith("nvpower.sh customisation")]
    assert any("(a) warn-skipped: no cvb branch for p3737" in s for s in skipped)
    assert any("(d) warn-skipped" in s for s in skipped)
    assert len(skipped) == 2
    assert "(a) warn-skipped" in result.summary()
    text = (case.tracker / "rootfs/etc/systemd/nvpower.sh").read_text()
    assert 'machine="p3701-0000-acme1-0000"' in text  # (b)
    assert 'conf_file="/etc/nvpmodel/nvpmodel_p3701_0000_acme1_0000.conf"' in text  # (c)
    assert "acme1_0000.conf" not in text.split("create_nvfancontrol_symlink()")[1]  # (d) absent
    # without a pristine copy in the tracker: pristine commit, then the customisation commit
    assert result.row("nvpower.sh pristine").status == "forked"
    subjects = case.git(case.tracker, "log", "--format=%s", "-2").splitlines()
    assert subjects[1].startswith(
        "derive-carrier: track the pristine rootfs/etc/systemd/nvpower.sh"
    )
    assert subjects[0].startswith("derive-carrier: nvpower.sh branches")
    pristine = case.git(case.tracker, "show", "HEAD~1:rootfs/etc/systemd/nvpower.sh")
    assert pristine == (case.tree.lft / "rootfs/etc/systemd/nvpower.sh").read_text()


def test_failure_inside_the_template_unit_leaves_nothing(make_case: CaseFactory) -> None:
    case = make_case("orin-agx", pristine=False, origin=False)
    before = heads(case)
    blocker = case.tracker / "rootfs" / "etc" / "nvpower"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the nvfancontrol directory must go\n")
    with pytest.raises(DeriveFailed) as info:
        derive_carrier(case.profile, accept_all)
    assert "nothing was committed" in str(info.value)
    assert "rows done before the failure: none" in str(info.value)
    assert heads(case) == before
    status = case.git(case.tracker, "status", "--porcelain", "--untracked-files=all")
    assert status.splitlines() == ["?? rootfs/etc/nvpower"]
    assert not (case.tracker / "bootloader").exists(), "created directories must be removed"
    assert not (case.tracker / "acme1-p3701.conf").is_symlink()


def test_failure_in_a_later_unit_keeps_earlier_commits_and_resumes(make_case: CaseFactory) -> None:
    case = make_case("thor-agx", pristine=False)
    blocker = case.tracker / "rootfs" / "etc" / "systemd"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where nvpower.sh's directory must go\n")
    with pytest.raises(DeriveFailed) as info:
        derive_carrier(case.profile, accept_all)
    message = str(info.value)
    assert "nvpower.sh pristine" in message
    done = message.split("rows done before the failure: ")[1]
    for row in (
        "flash-conf",
        "mb1 pinmux",
        "dt overlay skeleton",
        "overlay makefile",
        "overlay wire-up",
    ):
        assert row in done
    subjects = case.git(case.tracker, "log", "--format=%s").splitlines()
    assert len(subjects) == 3 and subjects[0].startswith("derive-carrier: wire ")
    assert case.git(case.tracker, "diff", "--cached", "--name-only") == ""
    blocker.unlink()
    resumed = derive_carrier(case.profile, accept_all)
    assert [c.rows for c in resumed.commits] == [
        ("nvpower.sh pristine",),
        ("nvpower.sh customisation",),
    ]
    for row in ("flash-conf", "dt overlay skeleton", "overlay wire-up"):
        assert resumed.row(row).status == "already derived"


def test_conflicting_untracked_file_is_refused_before_any_write(make_case: CaseFactory) -> None:
    case = make_case("orin-nano", origin=False)
    before = heads(case)
    (case.tracker / "acme1-0000-p3767-0000-a0.conf").write_text("# someone else's conf\n")
    with pytest.raises(DeriveRefused, match=r"acme1-0000-p3767-0000-a0\.conf \(untracked"):
        derive_carrier(case.profile, accept_all)
    assert heads(case) == before
    status = case.git(case.tracker, "status", "--porcelain").splitlines()
    assert status == ["?? acme1-0000-p3767-0000-a0.conf"]


def test_a_verification_miss_refuses_the_commit_and_restores(make_case: CaseFactory) -> None:
    from pytest_jetson.carrier import VerificationMiss
    from pytest_jetson.carrier.commit import CommitUnit, GitRepo

    case = make_case("orin-agx", origin=False)
    before = heads(case)
    repo = GitRepo(case.tracker)
    conf = "p3737-0000-p3701-0000.conf"
    original = (case.tracker / conf).read_bytes()
    with (
        pytest.raises(VerificationMiss, match=r"PINMUX_CONFIG=.*not found after the edit"),
        CommitUnit(repo, "overlay-tracker", rows_done=[]) as unit,
    ):
        unit.write("new/dir/x.conf", "A=1\n")
        unit.write(conf, original + b"# touched\n")
        unit.expect("new/dir/x.conf", 'PINMUX_CONFIG="x"', "a rewrite that did not land")
        unit.commit(accept_all, "never")
    assert heads(case) == before
    assert (case.tracker / conf).read_bytes() == original
    assert not (case.tracker / "new").exists()
    assert case.git(case.tracker, "status", "--porcelain") == ""
    with (
        pytest.raises(VerificationMiss, match="reference-named files would be staged"),
        CommitUnit(repo, "overlay-tracker", rows_done=[], forbidden=[conf]) as unit,
    ):
        unit.write(conf, original + b"# edited\n")
        unit.commit(accept_all, "never")
    assert case.git(case.tracker, "status", "--porcelain") == ""
    assert heads(case) == before
