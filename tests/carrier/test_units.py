"""The rename rules, the Makefile registration and the overlay skeleton as pure functions."""

from __future__ import annotations

import pytest

from pytest_jetson.carrier.naming import CarrierNames
from pytest_jetson.carrier.overlay import register, registration_present, skeleton
from pytest_jetson.catalogue import T234, T264


def names(custom_id: str = "p1234", **kw: str) -> CarrierNames:
    base = dict(
        chip=T264,
        module_id="p3834",
        module_sku="0008",
        carrier_id="p4071",
        carrier_sku="0000",
        custom_id=custom_id,
        custom_sku="0001",
        custom_flash_conf=f"{custom_id}.conf",
        custom_name="Acme",
    )
    base.update(kw)
    return CarrierNames(**base)  # type: ignore[arg-type]


def test_carrier_keyed_names_substitute_and_keep_xxxx() -> None:
    n = names()
    assert n.bct_fork("tegra264-mb1-bct-pinmux-p3834-xxxx-p4071-0000.dts") == (
        "tegra264-mb1-bct-pinmux-p3834-xxxx-p1234-0001.dts",
        "carrier-keyed",
    )
    assert n.bct_fork("tegra264-mb1-bct-misc-p3834-xxxx-p4071-xxxx.dtsi")[0] == (
        "tegra264-mb1-bct-misc-p3834-xxxx-p1234-xxxx.dtsi"
    )
    assert n.conf_fork("p3834-0008-p4071-0000-nvme.conf") == "p3834-0008-p1234-0001-nvme.conf"
    # the module part is never touched, even when it carries the carrier's digits elsewhere
    assert n.carrier_substitute("tegra264-p40710-0000.dts") is None


def test_module_keyed_names_get_the_dash_suffix() -> None:
    n = names(chip=T234, module_id="p3767", module_sku="0005", carrier_id="p3768")  # type: ignore[arg-type]
    assert n.bct_fork("tegra234-mb1-bct-pinmux-p3767-dp-a03.dtsi") == (
        "tegra234-mb1-bct-pinmux-p3767-dp-a03-p1234-0001.dtsi",
        "module-keyed",
    )


@pytest.mark.parametrize(
    ("custom_id", "stripped", "verbatim"),
    [("p1234", "1234", "p1234"), ("acme1", "acme1", "acme1"), ("p12345", "p12345", "p12345")],
)
def test_file_token_is_p_stripped_only_for_pNNNN_and_stripped_families(
    custom_id: str, stripped: str, verbatim: str
) -> None:
    n = names(custom_id)
    assert n.file_token(p_stripped_family=True) == stripped
    assert n.file_token(p_stripped_family=False) == verbatim
    # nvpmodel names keep the p: the custom id is used verbatim there
    assert n.underscore_suffix("nvpmodel_p3834_0008.conf", p_stripped_family=False) == (
        f"nvpmodel_p3834_0008_{verbatim}_0001.conf"
    )
    assert n.bpmp_fork("tegra264-bpmp-3834-0008-4071-xxxx.dtb") == (
        f"tegra264-bpmp-3834-0008-{stripped}-xxxx.dtb"
    )


def test_fan_conf_carrier_portion_is_substituted() -> None:
    assert names().underscore_carrier_substitute("nvfancontrol_p3834_0008_p4071_0000.conf") == (
        "nvfancontrol_p3834_0008_p1234_0001.conf"
    )


def test_bpmp_miss_is_reported_as_none() -> None:
    n = names(chip=T234, module_id="p3767", module_sku="0005", carrier_id="p3768")  # type: ignore[arg-type]
    assert n.bpmp_fork("tegra234-bpmp-3767-0000-a02-3509-a02.dtb") is None


R36 = """old-dtbo := $(dtbo-y)
dtbo-y :=
makefile-path := t23x/nv-public/overlay

dtbo-y += a.dtbo
dtbo-y += b.dtbo

ifneq ($(dtbo-y),)
dtbo-y := $(addprefix $(makefile-path)/,$(dtbo-y))
endif

dtbo-y += $(old-dtbo)
"""


def test_makefile_entry_goes_after_the_last_literal_entry_before_the_block() -> None:
    out = register(R36, "new.dtbo").splitlines()
    assert out[out.index("dtbo-y += b.dtbo") + 1] == "dtbo-y += new.dtbo"
    assert out.index("dtbo-y += new.dtbo") < out.index("ifneq ($(dtbo-y),)")
    assert out[-1] == "dtbo-y += $(old-dtbo)"
    assert registration_present("\n".join(out), "new.dtbo")
    assert not registration_present(R36, "new.dtbo")


def test_makefile_r35_form_keeps_its_lhs() -> None:
    r35 = R36.replace("dtbo-y += a.dtbo", "dtbo-$(BUILD_ENABLE) += a.dtbo").replace(
        "dtbo-y += b.dtbo", "dtbo-$(BUILD_ENABLE) += b.dtbo"
    )
    out = register(r35, "new.dtbo").splitlines()
    assert (
        out[out.index("dtbo-$(BUILD_ENABLE) += b.dtbo") + 1] == "dtbo-$(BUILD_ENABLE) += new.dtbo"
    )


def test_makefile_without_entries_or_block_is_refused() -> None:
    with pytest.raises(ValueError, match="addprefix"):
        register("all:\n\ttrue\n", "new.dtbo")


def test_skeleton_is_a_plugin_overlay_with_model_and_compatible() -> None:
    text = skeleton(names("acme-x"))
    assert "/plugin/;" in text
    assert 'compatible = "nvidia,acme-x-0001+p3834-0008", "nvidia,tegra264";' in text
    assert 'model = "Acme carrier board";' in text
