"""A custom carrier derived from the reference devkit (``jetson_derived_carrier``).

Runs on DUTs whose profile declares a ``custom_carrier`` (``--dut=sim-orin-carrier`` on the
simulated bench) and skips elsewhere. Commits need ``--jetson-accept-commits`` (or a terminal).
"""

from __future__ import annotations

from pytest_jetson.carrier import DerivedCarrier


def test_custom_carrier_is_derived(jetson_derived_carrier: DerivedCarrier) -> None:
    carrier = jetson_derived_carrier
    assert carrier.row("flash-conf").status in ("forked", "already derived")
    assert carrier.already_derived or carrier.shas("overlay-tracker")
