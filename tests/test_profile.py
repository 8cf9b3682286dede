"""Profiles: the contract of workflow.md, and clear errors for bad input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_jetson.catalogue import UnknownModuleWarning
from pytest_jetson.errors import ProfileError
from pytest_jetson.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
reference_devkit:
  name: NVIDIA Jetson AGX Orin Developer Kit
  module: {id: p3701, sku: 0000, revision: "500"}
  carrier: {id: p3737, sku: "0000"}
  flash_config: jetson-agx-orin-devkit.conf
bsp_image: {root_path: ../images/r36, version: R36.4.3}
source: {root_path: src}
"""


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / "profiles" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("name", "chip", "board", "module", "carrier"),
    [
        ("jetson-agx-orin-devkit", "t234", "jetson-agx-orin-devkit", "p3701-0000", "p3737-0000"),
        ("jetson-orin-nano-devkit", "t234", "jetson-orin-nano-devkit", "p3767-0005", "p3768-0000"),
        ("jetson-agx-thor-devkit", "t264", "jetson-agx-thor-devkit", "p3834-0008", "p4071-0000"),
        ("acme-orin-carrier", "t234", "p1234", "p3701-0000", "p3737-0000"),
    ],
)
def test_shipped_profiles_load(name: str, chip: str, board: str, module: str, carrier: str) -> None:
    profile = load_profile(ROOT / "profiles" / f"{name}.yaml")
    ref = profile.reference_devkit
    assert profile.chip.catalogue_id == chip
    assert profile.board == board
    assert f"{ref.module.id}-{ref.module.sku}" == module
    assert f"{ref.carrier.id}-{ref.carrier.sku}" == carrier


def test_ids_and_skus_stay_strings_and_paths_resolve_against_the_file(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, GOOD))
    assert profile.reference_devkit.module.sku == "0000"  # unquoted 0000 is not the integer 0
    assert profile.reference_devkit.module.revision == "500"
    assert profile.bsp_image is not None
    assert profile.bsp_image.lft == tmp_path / "images" / "r36" / "Linux_for_Tegra"
    assert profile.source is not None
    assert profile.source.overlay_tracker == tmp_path / "profiles" / "src" / "Linux_for_Tegra"
    assert profile.custom_carrier is None
    assert profile.boot_device is None


def test_custom_carrier_wins_the_active_block(tmp_path: Path) -> None:
    text = GOOD + "custom_carrier: {id: acme, sku: 'xxxx', flash_config: acme.conf}\n"
    profile = load_profile(write(tmp_path, text))
    assert profile.flash_config == "acme.conf"
    assert profile.board == "acme"
    assert profile.target_name == "NVIDIA Jetson AGX Orin Developer Kit + acme"


def test_unknown_module_warns_and_falls_back_to_t234(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, GOOD.replace("p3701", "p9999")))
    with pytest.warns(UnknownModuleWarning, match="p9999"):
        assert profile.chip.catalogue_id == "t234"


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("", 1, None, "profile is empty"),
        ("# only a comment\n", 1, None, "profile is empty"),
        ("reference_devkit: [\n", 2, None, "invalid YAML"),
        (
            GOOD + "boot_device: internal\nboot_device: external\n",
            9,
            "boot_device",
            "duplicate key",
        ),
        (GOOD + "boot_devcie: internal\n", 8, "boot_devcie", "did you mean 'boot_device'"),
        (
            GOOD.replace("  flash_config: jetson-agx-orin-devkit.conf\n", ""),
            2,
            "reference_devkit.flash_config",
            "missing required key",
        ),
        (
            GOOD.replace('{id: p3737, sku: "0000"}', "p3737"),
            4,
            "reference_devkit.carrier",
            "expected a mapping",
        ),
        (
            GOOD.replace("name: NVIDIA Jetson AGX Orin Developer Kit", "name: [a, b]"),
            2,
            "reference_devkit.name",
            "expected a string",
        ),
        (
            GOOD.replace("version: R36.4.3", "versoin: R36.4.3"),
            6,
            "bsp_image.versoin",
            "unknown key",
        ),
        (
            GOOD.replace("jetson-agx-orin-devkit.conf", "jetson-agx-orin-devkit"),
            5,
            "reference_devkit.flash_config",
            "ends in .conf",
        ),
        ("- a\n- b\n", 1, None, "must be a mapping"),
        (GOOD + "---\nother: 1\n", 9, None, "more than one YAML document"),
    ],
)
def test_bad_profiles_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str | None, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    err = info.value
    assert err.path == str(path)
    assert err.line == line
    assert err.key == key
    assert message in str(err)
    assert str(err).startswith(f"{path}:{line}: ")


def test_missing_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "nope.yaml")


def test_binary_garbage_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"reference_devkit:\n  name: \xff\xfe\n")
    with pytest.raises(ProfileError, match="not UTF-8") as info:
        load_profile(path)
    assert info.value.line == 2


def test_a_file_that_is_not_yaml_is_quoted_in_a_short_excerpt(tmp_path: Path) -> None:
    path = write(tmp_path, "x" * 300 + "\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert (
        "got the scalar 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (300 characters)" in message
    )
    assert len(message) < len(str(path)) + 150, message
