"""BCT sources sit in the real directories with the real #include chains."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_jetson.lft.conf import evaluate_conf
from pytest_jetson.lft.paths import Lft
from pytest_jetson.sim.tree import SimTree

INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"', re.M)


def resolve(lft: Lft, includer: Path, name: str) -> Path:
    """An include resolves in the includer's dir, then bootloader/, then generic/BCT/; strip ./."""
    bare = name.removeprefix("./")
    for base in (includer.parent, lft.bootloader, lft.bct_dir()):
        if (base / bare).is_file():
            return base / bare
    raise AssertionError(f"{includer.name}: #include {name!r} does not resolve")


def chain(lft: Lft, start: Path) -> list[tuple[int, Path, str]]:
    """Every include below ``start`` as (depth, file, as written)."""
    found = []
    todo = [(1, start)]
    while todo:
        depth, path = todo.pop()
        for name in INCLUDE.findall(path.read_text()):
            target = resolve(lft, path, name)
            found.append((depth, target, name))
            todo.append((depth + 1, target))
    return found


def test_every_include_resolves(default_trees: dict[str, SimTree]) -> None:
    for tree in default_trees.values():
        lft = Lft(tree.lft)
        sources = [*lft.bct_dir().iterdir(), *lft.bootloader.glob("*.dts*")]
        assert len(sources) > 10
        for path in sources:
            chain(lft, path)


def test_agx_pinmux_reaches_gpio_one_level_up(default_trees: dict[str, SimTree]) -> None:
    lft = Lft(default_trees["orin-agx"].lft)
    pinmux = lft.bct_dir() / "tegra234-mb1-bct-pinmux-p3701-0000-a04.dtsi"
    assert (lft.bct_dir() / "tegra234-mb1-bct-padvoltage-p3701-0000-a04.dtsi").is_file()
    found = chain(lft, pinmux)
    assert [(d, p.relative_to(lft.root).as_posix(), n) for d, p, n in found] == [
        (1, "bootloader/pinctrl-tegra.h", "pinctrl-tegra.h"),
        (
            1,
            "bootloader/tegra234-mb1-bct-gpio-p3701-0000-a04.dtsi",
            "tegra234-mb1-bct-gpio-p3701-0000-a04.dtsi",
        ),
        (2, "bootloader/tegra234-gpio.h", "tegra234-gpio.h"),
    ]
    assert not (lft.bct_dir() / "tegra234-mb1-bct-gpio-p3701-0000-a04.dtsi").exists()


def test_nano_pinmux_uses_the_dot_slash_prefix(default_trees: dict[str, SimTree]) -> None:
    lft = Lft(default_trees["orin-nano"].lft)
    pinmux = lft.bct_dir() / "tegra234-mb1-bct-pinmux-p3767-dp-a03.dtsi"
    names = INCLUDE.findall(pinmux.read_text())
    assert names == ["pinctrl-tegra.h", "./tegra234-mb1-bct-gpio-p3767-dp-a03.dtsi"]
    assert (
        resolve(lft, pinmux, names[1]) == lft.bootloader / "tegra234-mb1-bct-gpio-p3767-dp-a03.dtsi"
    )
    misc = INCLUDE.findall((lft.bct_dir() / "tegra234-mb1-bct-misc-p3767-0000.dts").read_text())
    assert "tegra234-mb1-bct-disable-fsi-carveouts.dtsi" in misc


def test_thor_gpio_body_is_at_depth_two(default_trees: dict[str, SimTree]) -> None:
    tree = default_trees["thor-agx"]
    lft = Lft(tree.lft)
    values = evaluate_conf(
        lft,
        "jetson-agx-thor-devkit",
        board_id="3834",
        board_sku="0008",
        fab="400",
        chip_sku="",
        variables=["PINMUX_CONFIG", "PMC_CONFIG", "MISC_CONFIG", "MB2_BCT", "GPIO_CONFIG"],
    )
    pinmux = values["PINMUX_CONFIG"]
    found = chain(lft, lft.bct_dir() / pinmux)
    rel = [(d, p.relative_to(lft.root).as_posix(), n) for d, p, n in found]
    assert (
        1,
        "bootloader/tegra264-mb1-bct-pinmux-p3834-xxxx-p4071-0000.dtsi",
        "tegra264-mb1-bct-pinmux-p3834-xxxx-p4071-0000.dtsi",
    ) in rel
    assert (
        2,
        "bootloader/tegra264-mb1-bct-gpio-p3834-xxxx-p4071-0000.dtsi",
        "./tegra264-mb1-bct-gpio-p3834-xxxx-p4071-0000.dtsi",
    ) in rel
    assert (2, "bootloader/t264-pinctrl-tegra.h", "t264-pinctrl-tegra.h") in rel
    wrapper = (lft.bct_dir() / pinmux).read_text()
    assert re.search(r"mb1_bct \{\s*padctl@0 \{\s*#include", wrapper)
    pmc = (lft.bct_dir() / values["PMC_CONFIG"]).read_text()
    assert re.search(
        r'pmc@0 \{\s*#include "tegra264-mb1-bct-padvoltage-p3834-xxxx-p4071-0000.dtsi"', pmc
    )
    misc = values["MISC_CONFIG"]
    assert INCLUDE.findall((lft.bct_dir() / misc).read_text()) == [
        "tegra264-mb1-bct-misc-p3834-xxxx-p4071-xxxx.dtsi"
    ]
    mb2 = values["MB2_BCT"]
    assert INCLUDE.findall((lft.bct_dir() / mb2).read_text()) == [
        "t264_tegrabl_carveout_id.h",
        "tegra264-mb2-bct-common.dtsi",
    ]
    gpio_wrapper = "tegra264-mb1-bct-gpio-p3834-xxxx-p4071-0000.dts"
    assert (lft.bct_dir() / gpio_wrapper).is_file()
    assert gpio_wrapper not in values.values()


@pytest.mark.parametrize(
    "key,pinmux,gpio,pad,node,macro",
    [
        (
            "orin-agx",
            "generic/BCT/tegra234-mb1-bct-pinmux-p3701-0000-a04.dtsi",
            "tegra234-mb1-bct-gpio-p3701-0000-a04.dtsi",
            "generic/BCT/tegra234-mb1-bct-padvoltage-p3701-0000-a04.dtsi",
            "pinmux@2430000",
            "TEGRA234_MAIN_GPIO",
        ),
        (
            "thor-agx",
            "tegra264-mb1-bct-pinmux-p3834-xxxx-p4071-0000.dtsi",
            "tegra264-mb1-bct-gpio-p3834-xxxx-p4071-0000.dtsi",
            "tegra264-mb1-bct-padvoltage-p3834-xxxx-p4071-0000.dtsi",
            "pinmux@ac281000",
            "TEGRA264_MAIN_GPIO",
        ),
    ],
)
def test_file_shapes(
    default_trees: dict[str, SimTree],
    key: str,
    pinmux: str,
    gpio: str,
    pad: str,
    node: str,
    macro: str,
) -> None:
    bl = default_trees[key].lft / "bootloader"
    text = (bl / pinmux).read_text()
    assert re.match(r"/\*This dtsi file was generated by \S+\.xlsm Revision: \d+\.\d+ \*/", text)
    assert f"{node} {{" in text
    for prop in (
        "nvidia,pins",
        "nvidia,function",
        "nvidia,pull",
        "nvidia,tristate",
        "nvidia,enable-input",
    ):
        assert prop in text
    gpio_text = (bl / gpio).read_text()
    if key == "orin-agx":
        assert "gpio@2200000 {" in gpio_text and "gpio@c2f0000 {" in gpio_text
    for prop in ("gpio-input", "gpio-output-low", "gpio-output-high"):
        assert f"{prop} = <" in gpio_text
    assert re.search(rf"{macro}\([A-Z]+, \d\)", gpio_text)
    pad_text = (bl / pad).read_text()
    assert re.search(r"pmc@[0-9a-f]+ \{\s*io-pad-defaults \{", pad_text)
    assert "nvidia,io-pad-init-voltage = <" in pad_text
