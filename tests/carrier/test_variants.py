"""Tree and profile variants: a conf that sets GPIO_CONFIG, a pNNNN custom carrier id."""

from __future__ import annotations

from pathlib import Path

from pytest_jetson.carrier import accept_all, derive_carrier
from pytest_jetson.lft.conf import evaluate_conf

from .conftest import CaseFactory, flash_view


def test_gpio_config_when_present_is_rewritten_to_the_shared_fork(
    make_case: CaseFactory, tmp_path: Path
) -> None:
    case = make_case("orin-agx", with_gpio_config=True, origin=False)
    result = derive_carrier(case.profile, accept_all)
    conf = (case.tracker / result.flash_conf_fork).read_text()
    fork = "tegra234-mb1-bct-gpio-p3701-0000-a04-acme1-0000.dtsi"
    assert f'GPIO_CONFIG="{fork}";' in conf
    assert 'GPIO_CONFIG="tegra234-mb1-bct-gpio-p3701-0000-a04.dtsi"' not in conf
    pinmux = (
        case.tracker
        / "bootloader/generic/BCT/tegra234-mb1-bct-pinmux-p3701-0000-a04-acme1-0000.dtsi"
    )
    assert f'"{fork}"' in pinmux.read_text(), "the pinmux fork includes the same GPIO fork"
    view = flash_view(case, tmp_path / "lft")
    got = evaluate_conf(
        view,
        "acme1-p3701.conf",
        board_id="3701",
        board_sku="0000",
        fab="500",
        chip_sku="00:00:00:D0",
        variables=["GPIO_CONFIG"],
    )
    assert got["GPIO_CONFIG"] == fork and (view / "bootloader" / fork).is_file()


def test_pnnnn_custom_id_uses_the_p_stripped_token_only_where_the_family_does(
    make_case: CaseFactory,
) -> None:
    custom = 'custom_carrier: {id: p1234, sku: "0001", flash_config: p1234.conf, name: P1234}\n'
    case = make_case("thor-agx", custom=custom, origin=False)
    result = derive_carrier(case.profile, accept_all, bpmp=True)
    assert result.flash_conf_fork == "p3834-0008-p1234-0001-nvme.conf"
    assert (case.tracker / "p1234.conf").readlink() == Path("p3834-0008-p1234-0001-nvme.conf")
    assert result.row("nvfancontrol").files == (
        "rootfs/etc/nvpower/nvfancontrol/nvfancontrol_p3834_0008_p1234_0001.conf",
    )
    assert result.row("nvpmodel").files == (
        "rootfs/etc/nvpmodel/nvpmodel_p3834_0008_p1234_0001.conf",
    )
    assert result.row("bpmp dtb").files == (
        "bootloader/generic/tegra264-bpmp-3834-0008-1234-xxxx.dtb",
    )
    nvpower = (case.tracker / "rootfs/etc/systemd/nvpower.sh").read_text()
    assert 'cvb="1234"' in nvpower and '[ "${cvb}" = "1234" ]' in nvpower
    assert 'machine="p3834-0008-p1234-0001"' in nvpower
