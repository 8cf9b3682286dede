"""The bench inventory: DUT names → profile and wiring, with located errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_jetson.bench import DefaultUser, SerialSpec, load_inventory
from pytest_jetson.errors import InventoryError, ProfileError, UsageError
from pytest_jetson.sim.bench import SIM_BLOCK, SimSpec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench_dir(tmp_path: Path) -> Path:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "orin.yaml").write_text(
        (ROOT / "profiles" / "jetson-agx-orin-devkit.yaml").read_text()
    )
    (tmp_path / "hil").mkdir()
    return tmp_path


def write_bench(bench_dir: Path, text: str) -> Path:
    path = bench_dir / "hil" / "bench.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_example_inventory_resolves_every_entry() -> None:
    inv = load_inventory(
        ROOT / "hil" / "bench.yaml", profile_dirs=[ROOT / "profiles"], blocks=[SIM_BLOCK]
    )
    assert "thor-01" in inv.names
    thor = inv.entry("thor-01")
    assert thor.profile.chip.catalogue_id == "t264"
    assert thor.boardctl_target == "thor-jetson-module"
    assert thor.boardctl_serial == "TOPO1A2B3C4D"
    assert inv.entry("orin-01").boardctl_serial == "TOPO0C5FB339"
    nano = inv.entry("nano-01")
    assert nano.recovery == "manual"
    assert nano.boot_device_resolved == "nvme0n1p1"
    assert nano.default_user == DefaultUser(
        "custom", username="qa", password_env="JETSON_QA_PASSWORD"
    )
    sim = inv.duts["sim-pair-b"].block("sim", SimSpec)
    assert sim is not None and sim.faults == ("flash_fail",)


BY_ID = "/dev/serial/by-id/usb-NVIDIA_Tegra_On-Platform_Operator_{}-if01"


def test_debugger_serial_from_the_key_or_the_by_id_console_path(bench_dir: Path) -> None:
    path = write_bench(
        bench_dir,
        f"""\
        duts:
          a:
            profile: orin
            boardctl_target: topo
            serial: {{port: "{BY_ID.format("TOPO0C5FB339")}"}}
          b:
            profile: orin
            boardctl_target: topo
            boardctl_serial: TOPO99
            serial: {{port: "{BY_ID.format("TOPO0C5FB339")}"}}
          c:
            profile: orin
            boardctl_target: topo
            boardctl_index: 2
            serial: {{port: /dev/ttyACM3}}
        """,
    )
    inv = load_inventory(path, profile_dirs=[bench_dir / "profiles"])
    assert inv.entry("a").boardctl_serial == "TOPO0C5FB339"
    assert inv.entry("b").boardctl_serial == "TOPO99"
    c = inv.entry("c")
    assert (c.boardctl_serial, c.boardctl_index) == (None, 2)


def test_several_boardctl_duts_without_a_named_debugger_are_refused(bench_dir: Path) -> None:
    path = write_bench(
        bench_dir,
        f"""\
        duts:
          named: {{profile: orin, boardctl_target: topo, serial: {{port: "{BY_ID.format("T1")}"}}}}
          thor-x: {{profile: orin, boardctl_target: thor-jetson-module}}
          manual: {{profile: orin, boardctl_target: topo, recovery: manual}}
          orin-y: {{profile: orin, boardctl_target: topo, serial: {{port: /dev/ttyACM0}}}}
        """,
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(path, profile_dirs=[bench_dir / "profiles"])
    message = str(info.value)
    assert message.startswith(f"{path}:3: duts.thor-x:")
    assert "3 DUTs are driven by boardctl on this host but thor-x (line 3), orin-y (line 5)" in (
        message
    )
    assert "boardctl_serial: <serial>" in message and "boardctl_index: N" in message
    assert "manual (line" not in message


def test_two_duts_naming_one_debugger_are_refused(bench_dir: Path) -> None:
    path = write_bench(
        bench_dir,
        f"""\
        duts:
          a: {{profile: orin, boardctl_target: topo, serial: {{port: "{BY_ID.format("T1")}"}}}}
          b: {{profile: orin, boardctl_target: topo, boardctl_serial: T1}}
        """,
    )
    with pytest.raises(InventoryError, match=r"DUTs a and b name the same debugger"):
        load_inventory(path, profile_dirs=[bench_dir / "profiles"])


def test_one_debugger_needs_no_serial(bench_dir: Path) -> None:
    path = write_bench(
        bench_dir,
        """\
        duts:
          only: {profile: orin, boardctl_target: topo}
          by-hand: {profile: orin, recovery: manual}
        """,
    )
    entry = load_inventory(path, profile_dirs=[bench_dir / "profiles"]).entry("only")
    assert (entry.boardctl_serial, entry.boardctl_index) == (None, None)


def test_profile_by_name_and_by_relative_path(bench_dir: Path) -> None:
    path = write_bench(
        bench_dir,
        """\
        duts:
          by-name: {profile: orin, serial: {port: /dev/ttyACM0}}
          by-path:
            profile: ../profiles/orin.yaml
            serial: {port: "rfc2217://h:4000", baud: 921600}
        """,
    )
    inv = load_inventory(path, profile_dirs=[bench_dir / "profiles"])
    assert inv.entry("by-name").profile.path == bench_dir / "profiles" / "orin.yaml"
    by_path = inv.entry("by-path")
    assert by_path.profile.path == (bench_dir / "profiles" / "orin.yaml").resolve()
    assert by_path.serial == SerialSpec("rfc2217://h:4000", 921600)


def test_profile_boot_device_wins_over_the_bench(bench_dir: Path) -> None:
    path = write_bench(bench_dir, "duts:\n  a: {profile: orin, boot_device: nvme0n1p1}\n")
    entry = load_inventory(path, profile_dirs=[bench_dir / "profiles"]).entry("a")
    assert entry.boot_device_resolved == "internal"  # the profile says internal


def test_unknown_dut_lists_the_known_names(bench_dir: Path) -> None:
    path = write_bench(bench_dir, "duts:\n  a: {profile: orin}\n  b: {profile: orin}\n")
    with pytest.raises(UsageError, match="unknown DUT 'c'; known DUTs: a, b"):
        load_inventory(path).entry("c")


def test_missing_profile_names_where_it_looked(bench_dir: Path) -> None:
    path = write_bench(bench_dir, "duts:\n  a:\n    profile: nowhere\n")
    inv = load_inventory(path, profile_dirs=[bench_dir / "profiles"])
    with pytest.raises(InventoryError, match="profile 'nowhere' not found") as info:
        inv.entry("a")
    assert info.value.line == 3
    assert info.value.key == "duts.a.profile"


def test_a_broken_profile_error_names_the_profile_file(bench_dir: Path) -> None:
    (bench_dir / "profiles" / "bad.yaml").write_text("reference_devkit: {}\n")
    path = write_bench(bench_dir, "duts:\n  a: {profile: bad}\n")
    with pytest.raises(
        ProfileError, match=r"bad\.yaml:1: reference_devkit\.module: missing required key"
    ):
        load_inventory(path, profile_dirs=[bench_dir / "profiles"]).entry("a")


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("duts:\n  a: {profile: orin, usb_port: 'usb1'}\n", 2, "duts.a.usb_port", "USB port path"),
        (
            "duts:\n  a: {profile: orin, recovery: buttons}\n",
            2,
            "duts.a.recovery",
            "must be one of",
        ),
        (
            "duts:\n  a: {profile: orin, default_user: root}\n",
            2,
            "duts.a.default_user",
            "must be one of ubuntu, nvidia, skip",
        ),
        (
            "duts:\n  a:\n    profile: orin\n    default_user: {username: qa}\n",
            4,
            "duts.a.default_user.password_env",
            "missing required key",
        ),
        (
            "duts:\n  a:\n    profile: orin\n    default_user: {username: qa, password: x}\n",
            4,
            "duts.a.default_user.password",
            "unknown key",
        ),
        (
            "duts:\n  a: {profile: orin, serial: {port: /dev/x, baud: fast}}\n",
            2,
            "duts.a.serial.baud",
            "expected an integer",
        ),
        ("duts:\n  a: {profile: orin}\n  a: {profile: orin}\n", 3, "duts.a", "duplicate key"),
        ("duts:\n  a: {profle: orin}\n", 2, "duts.a.profle", "did you mean 'profile'"),
        ("duts:\n  sim-orin: {profile: orin}\n", 2, "duts.sim-orin", "reserved"),
        ("dut:\n  a: {profile: orin}\n", 1, "dut", "did you mean 'duts'"),
        ("duts:\n  a: {boardctl_target: topo}\n", 2, "duts.a.profile", "missing required key"),
        (
            "duts:\n  a: {profile: orin, ladder: [reset, replace_board]}\n",
            2,
            "duts.a.ladder",
            "unknown rung(s) 'replace_board'; rungs: reset, power_cycle, recovery_reentry, reflash",
        ),
    ],
)
def test_bad_inventories_name_file_line_and_key(
    bench_dir: Path, text: str, line: int, key: str, message: str
) -> None:
    path = write_bench(bench_dir, text)
    with pytest.raises(InventoryError) as info:
        load_inventory(path, blocks=[SIM_BLOCK])
    assert (info.value.path, info.value.line, info.value.key) == (str(path), line, key)
    assert message in str(info.value)


def test_the_ladder_defaults_to_every_rung_and_keeps_their_order(bench_dir: Path) -> None:
    path = write_bench(
        bench_dir,
        """
        duts:
          a: {profile: orin}
          b: {profile: orin, ladder: [power_cycle, reset]}
          c: {profile: orin, ladder: []}
        """,
    )
    inventory = load_inventory(path, profile_dirs=[bench_dir / "profiles"])
    ladders = [inventory.entry(n).ladder for n in "abc"]
    every = ("reset", "power_cycle", "recovery_reentry", "reflash")
    assert ladders == [every, ("reset", "power_cycle"), ()]


def test_known_good_names_a_profile_or_a_tree(bench_dir: Path) -> None:
    tree = bench_dir / "good" / "Linux_for_Tegra"
    tree.mkdir(parents=True)
    path = write_bench(
        bench_dir,
        """
        duts:
          a: {profile: orin}
          b: {profile: orin, known_good: orin}
          c: {profile: orin, known_good: ../good}
          d: {profile: orin, known_good: ../good/Linux_for_Tegra}
        """,
    )
    inventory = load_inventory(path, profile_dirs=[bench_dir / "profiles"])
    entries = {n: inventory.entry(n) for n in "abcd"}
    assert entries["a"].known_good is None
    assert entries["b"].known_good == entries["b"].profile
    for name in "cd":
        good = entries[name].known_good
        assert good is not None and good.bsp_image is not None
        assert good.bsp_image.lft == tree.resolve()
        assert good.reference_devkit == entries[name].profile.reference_devkit


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("nowhere", "known_good profile 'nowhere' not found", id="no-such-profile"),
        pytest.param("../profiles", "is not a Linux_for_Tegra tree", id="a-folder-not-a-tree"),
    ],
)
def test_a_bad_known_good_names_file_line_and_key(
    bench_dir: Path, value: str, message: str
) -> None:
    path = write_bench(bench_dir, f"duts:\n  a:\n    profile: orin\n    known_good: {value}\n")
    inventory = load_inventory(path, profile_dirs=[bench_dir / "profiles"])
    with pytest.raises(InventoryError) as info:
        inventory.entry("a")
    assert (info.value.line, info.value.key) == (4, "duts.a.known_good")
    assert message in str(info.value)
