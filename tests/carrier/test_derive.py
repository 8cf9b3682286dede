"""derive-carrier on the simulated trees of all three boards: rows, commits, flash-time values."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jetson.carrier import DerivedCarrier, accept_all, derive_carrier
from pytest_jetson.carrier.naming import CarrierNames
from pytest_jetson.carrier.record import ROW_NAMES
from pytest_jetson.catalogue import chip_for_module
from pytest_jetson.lft.conf import evaluate_conf

from .conftest import CUSTOM_ID, CUSTOM_SKU, Case, CaseFactory, flash_view

FORKED = ("PINMUX_CONFIG", "PMC_CONFIG", "GPIO_CONFIG", "GPIOINT_CONFIG", "MISC_CONFIG", "MB2_BCT")
KEPT = (
    "DTB_FILE",
    "TBCDTB_FILE",
    "SCR_CONFIG",
    "PMIC_CONFIG",
    "DEVICE_CONFIG",
    "DEVICEPROD_CONFIG",
    "PROD_CONFIG",
    "MINRATCHET_CONFIG",
    "UPHY_CONFIG",
    "UPHYLANE_CONFIG",
    "EMMC_BCT",
    "EMC_BCT",
    "BPFFILE",
)

# (board_sku, FAB, chip_SKU) inputs per board, spanning the hooks' SKU/FAB/chip-SKU branches.
INPUTS = {
    "orin-agx": [
        ("0000", "500", "00:00:00:D0"),
        ("0000", "TS1", "00:00:00:D0"),
        ("0004", "300", "00:00:00:90"),
        ("0005", "EB2", "00:00:00:D0"),
    ],
    "orin-nano": [
        ("0005", "RC1", "00:00:00:D5"),
        ("0000", "TS1", "00:00:00:D3"),
        ("0003", "300", "00:00:00:D3"),
    ],
    "thor-agx": [
        ("0008", "400", "00:00:00:A0"),
        ("0008", "500", "00:00:00:A0"),
        ("0008", "RC1", "00:00:00:E0"),
    ],
}


def names_for(case: Case) -> CarrierNames:
    board = case.tree.board
    return CarrierNames(
        chip=chip_for_module(board.module_id),
        module_id=board.module_id,
        module_sku=board.module_sku,
        carrier_id=board.carrier_id,
        carrier_sku=board.carrier_sku,
        custom_id=CUSTOM_ID,
        custom_sku=CUSTOM_SKU,
        custom_flash_conf=f"{CUSTOM_ID}-{board.module_id}.conf",
        custom_name="ACME carrier",
    )


@pytest.fixture(
    scope="module",
    # every board, and both workspace forms (test_failures and test_cli cover the other pairs)
    params=[
        ("orin-agx", "hardware"),
        ("orin-agx", "bsp_sources"),
        ("orin-nano", "bsp_sources"),
        ("thor-agx", "hardware"),
    ],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def derived(request: pytest.FixtureRequest, make_case: CaseFactory) -> tuple[Case, DerivedCarrier]:
    board, form = request.param
    case = make_case(board, form=form)
    bpmp = board != "orin-nano"
    return case, derive_carrier(case.profile, accept_all, bpmp=bpmp)


def commit_files(case: Case, repo: Path, sha: str) -> set[str]:
    out = case.git(repo, "show", "--name-only", "--format=", sha)
    return {line for line in out.splitlines() if line}


def test_every_row_reports_and_the_repos_get_the_expected_commits(
    derived: tuple[Case, DerivedCarrier],
) -> None:
    case, result = derived
    statuses = {r.row: r.status for r in result.rows}
    expected_rows = [r for r in ROW_NAMES if r != "bpmp dtb" or case.tree.board.key != "orin-nano"]
    assert list(statuses) == expected_rows
    for row in (
        "flash-conf",
        "flash-conf symlink",
        "mb1 pinmux",
        "mb1 gpio",
        "mb1 padvoltage",
        "mb1 misc",
        "mb2 misc",
        "nvpmodel",
        "nvfancontrol",
        "dt overlay skeleton",
        "overlay makefile",
        "overlay wire-up",
        "nvpower.sh customisation",
    ):
        assert statuses[row] == "forked", (row, result.summary())
    # the simulated tracker already holds the pristine nvpower.sh: no second pristine commit
    assert statuses["nvpower.sh pristine"] == "already derived"
    tracker_commits = [c for c in result.commits if c.role == "overlay-tracker"]
    hardware_commits = [c for c in result.commits if c.role == "hardware"]
    assert [c.rows[0] for c in tracker_commits] == [
        "flash-conf",
        "overlay wire-up",
        "nvpower.sh customisation",
    ]
    assert len(hardware_commits) == 1
    log = case.git(case.tracker, "log", "--format=%H", "-4").split()
    assert log[:3] == [c.sha for c in reversed(tracker_commits)]
    assert case.git(case.tracker, "status", "--porcelain") == ""
    assert case.git(case.ws.hardware_repo, "status", "--porcelain") == ""


def test_template_rows_land_in_one_commit_without_reference_named_files(
    derived: tuple[Case, DerivedCarrier],
) -> None:
    case, result = derived
    template = result.commits[0]
    files = commit_files(case, case.tracker, template.sha)
    expected = {f for r in result.rows if r.row in template.rows for f in r.files}
    assert files == expected
    names = names_for(case)
    for path in files:
        name = Path(path).name
        assert CUSTOM_ID in name, f"{path} is not custom-named"
        assert names.carrier_substitute(name) is None, f"{path} still names the reference carrier"
    conf = case.tracker / result.flash_conf_fork
    link = case.tracker / names.custom_flash_conf
    assert link.is_symlink() and link.readlink() == Path(result.flash_conf_fork)
    assert conf.is_file()


def test_bct_forks_follow_the_rename_rule_and_the_include_chain(
    derived: tuple[Case, DerivedCarrier],
) -> None:
    case, result = derived
    board = case.tree.board
    pinmux = result.row("mb1 pinmux").files
    gpio_bodies = [f for f in pinmux if "-gpio-" in f]
    assert gpio_bodies, "the GPIO dtsi must be reached through the pinmux #include chain"
    for path in gpio_bodies:
        assert path.startswith("bootloader/") and "/BCT/" not in path
        includer = [
            f for f in pinmux if "pinmux" in f and Path(path).name in (case.tracker / f).read_text()
        ]
        assert includer, f"no forked pinmux file includes {path}"
    if board.chip.catalogue_id == "t264":
        # carrier-keyed substitution keeping the module part and the xxxx wildcard
        assert any("p3834-xxxx-acme1-0000" in f for f in pinmux)
        assert any("p3834-xxxx-acme1-xxxx" in f for f in result.row("mb1 misc").files)
        assert any(
            f.count("/") == 1 and "gpio-p3834-xxxx-acme1-0000.dtsi" in f for f in gpio_bodies
        )
    else:
        for row in ("mb1 pinmux", "mb1 padvoltage", "mb1 misc", "mb2 misc", "mb1 gpio"):
            for path in result.row(row).files:
                assert Path(path).stem.endswith(f"-{CUSTOM_ID}-{CUSTOM_SKU}"), path
                assert f"{board.module_id}-" in path


def test_overlay_skeleton_and_makefile_are_committed_and_pushed(
    derived: tuple[Case, DerivedCarrier],
) -> None:
    case, result = derived
    names = names_for(case)
    hw = case.ws.hardware_repo
    assert result.overlay_path == case.ws.overlay_dir / f"{names.overlay_stem}.dts"
    text = result.overlay_path.read_text()
    assert "/plugin/;" in text and 'target-path = "/";' in text
    assert (
        f'"nvidia,{CUSTOM_ID}-{CUSTOM_SKU}+{names.module_key}", "nvidia,{names.chip.prefix}"'
        in text
    )
    assert 'model = "ACME carrier carrier board";' in text
    lines = case.ws.overlay_makefile.read_text().splitlines()
    entry = lines.index(f"dtbo-y += {names.overlay_dtbo}")
    block = next(i for i, line in enumerate(lines) if line.startswith("ifneq"))
    assert entry < block
    assert lines[entry - 1].startswith("dtbo-y += ") and "$(" not in lines[entry - 1]
    sha = result.shas("hardware")[0]
    rel = result.overlay_path.relative_to(hw).as_posix()
    assert commit_files(case, hw, sha) == {rel, case.ws.overlay_makefile.relative_to(hw).as_posix()}
    assert case.ws.origin is not None
    assert case.git(case.ws.origin, "rev-parse", "main").strip() == sha
    assert result.pushed == "origin/main"


def test_wire_up_and_nvpower_commits(derived: tuple[Case, DerivedCarrier]) -> None:
    case, result = derived
    names = names_for(case)
    wire = [c for c in result.commits if c.role == "overlay-tracker"][1]
    diff = case.git(case.tracker, "show", "--format=", wire.sha)
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert added == [f'OVERLAY_DTB_FILE+=",{names.overlay_dtbo}";']
    nvpower = (case.tracker / "rootfs/etc/systemd/nvpower.sh").read_text()
    assert (
        f'elif [[ "${{machine}}" =~ "{CUSTOM_ID}" ]]; then' in nvpower
        or f'if [[ "${{machine}}" =~ "{CUSTOM_ID}" ]]; then' in nvpower
    )
    assert f'machine="{names.machine_key}"' in nvpower
    nvpmodel = result.row("nvpmodel").files
    fan = result.row("nvfancontrol").files
    assert any(
        Path(f).name in nvpower or Path(f).name.replace("_super", "${super}") in nvpower
        for f in nvpmodel
    )
    assert Path(fan[0]).name in nvpower
    assert not result.skipped or case.tree.board.key == "orin-nano"


def test_flash_time_values_in_bash(derived: tuple[Case, DerivedCarrier], tmp_path: Path) -> None:
    """Source the custom conf like flash.sh and run its hooks: forked names, existing files,
    reference values for the rest — compared with the reference conf for the same inputs."""
    case, result = derived
    board = case.tree.board
    names = names_for(case)
    view = flash_view(case, tmp_path / "Linux_for_Tegra")
    variables = [*FORKED, *KEPT, "BPFDTB_FILE", "OVERLAY_DTB_FILE"]
    bpmp = result.bpmp.startswith("forked")
    for sku, fab, chip_sku in INPUTS[board.key]:
        args = dict(
            board_id=board.eeprom.board_id,
            board_sku=sku,
            fab=fab,
            chip_sku=chip_sku,
            variables=variables,
        )
        ref = evaluate_conf(view, board.devkit_conf, **args)  # type: ignore[arg-type]
        got = evaluate_conf(view, names.custom_flash_conf, **args)  # type: ignore[arg-type]
        where = f"{board.key} sku {sku} FAB {fab} chip {chip_sku}"
        for var in FORKED:
            if var not in ref:
                assert var not in got, where
                continue
            fork, _branch = names.bct_fork(ref[var])
            assert got[var] == fork, (where, var, got[var])
            assert (view / "bootloader/generic/BCT" / fork).is_file() or (
                view / "bootloader" / fork
            ).is_file()
        for var in KEPT:
            assert got.get(var) == ref.get(var), (where, var)
        if bpmp:
            assert got["BPFDTB_FILE"] == names.bpmp_fork(ref["BPFDTB_FILE"]), where
            assert (view / "bootloader/generic" / got["BPFDTB_FILE"]).is_file()
        else:
            assert got["BPFDTB_FILE"] == ref["BPFDTB_FILE"], where
        assert got["OVERLAY_DTB_FILE"] == f"{ref['OVERLAY_DTB_FILE']},{names.overlay_dtbo}", where


def test_second_run_is_already_derived(derived: tuple[Case, DerivedCarrier]) -> None:
    case, first = derived
    heads = [case.git(r, "rev-parse", "HEAD") for r in (case.tracker, case.ws.hardware_repo)]
    again = derive_carrier(case.profile, accept_all, bpmp=first.bpmp.startswith("forked"))
    assert again.commits == ()
    assert again.already_derived
    assert {r.status for r in again.rows} <= {"already derived", "warn-skipped"}
    assert "already derived: no commit made" in again.summary()
    assert [
        case.git(r, "rev-parse", "HEAD") for r in (case.tracker, case.ws.hardware_repo)
    ] == heads


def run_nvpower(script: str, root: Path, compatible: list[str]) -> tuple[str, str]:
    """Run the patched nvpower.sh's board detection and symlink functions against a fake
    /proc/device-tree and /etc under ``root``; returns the two symlink targets (names)."""
    dt = root / "dt"
    dt.mkdir(parents=True)
    (dt / "compatible").write_bytes(b"".join(c.encode() + b"\0" for c in compatible))
    body = script.replace("/proc/device-tree/", f"{dt}/").replace("/etc/", f"{root}/etc/")
    # keep the function definitions only; never run the main sequence (it writes to /sys)
    cut = body.index("\nset_socfamily\n")
    body = body[:cut] + "\nset_socfamily\ncreate_nvpmodel_symlink\ncreate_nvfancontrol_symlink\n"
    import subprocess

    subprocess.run(["bash", "-c", body], check=True, capture_output=True, timeout=30)
    model = (root / "etc" / "nvpmodel.conf").readlink().name
    fan = (root / "etc" / "nvfancontrol.conf").readlink().name
    return model, fan


def test_patched_nvpower_picks_the_forks_on_the_custom_carrier_only(
    derived: tuple[Case, DerivedCarrier], tmp_path: Path
) -> None:
    import shutil

    case, result = derived
    board = case.tree.board
    names = names_for(case)
    script = (case.tracker / "rootfs/etc/systemd/nvpower.sh").read_text()
    outcomes = {}
    for label, compatible in (
        ("custom", [names.compatible[0], names.compatible[1]]),
        (
            "devkit",
            [
                f"nvidia,{board.carrier_id}-{board.carrier_sku}+{names.module_key}",
                f"nvidia,{names.module_key}",
                f"nvidia,{names.chip.prefix}",
            ],
        ),
    ):
        root = tmp_path / label
        shutil.copytree(case.tree.lft / "rootfs/etc", root / "etc", symlinks=True)
        for rel in (*result.row("nvpmodel").files, *result.row("nvfancontrol").files):
            shutil.copy(case.tracker / rel, root / "etc" / Path(rel).relative_to("rootfs/etc"))
        outcomes[label] = run_nvpower(script, root, compatible)
    primary_model = next(Path(f).name for f in result.row("nvpmodel").files if "_super_" not in f)
    assert outcomes["custom"] == (primary_model, Path(result.row("nvfancontrol").files[0]).name)
    assert CUSTOM_ID not in "".join(outcomes["devkit"])
