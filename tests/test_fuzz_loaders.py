"""Generated malformed inputs: the only exception that may escape a loader is our own."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_jetson.bench import load_inventory
from pytest_jetson.errors import ConfigError
from pytest_jetson.profile import load_profile
from pytest_jetson.sim.bench import SIM_BLOCK

VALID_PROFILE = {
    "reference_devkit": {
        "name": "Devkit",
        "module": {"id": "p3701", "sku": "0000", "revision": "500"},
        "carrier": {"id": "p3737", "sku": "0000"},
        "flash_config": "jetson-agx-orin-devkit.conf",
    },
    "bsp_image": {"root_path": "img", "version": "R36.4.3"},
    "boot_device": "internal",
}
VALID_BENCH = {
    "duts": {
        "a": {"profile": "p.yaml", "serial": {"port": "/dev/ttyACM0"}, "usb_port": "1-4"},
        "b": {"sim": {"board": "orin-agx", "faults": ["kernel_panic"]}, "default_user": "nvidia"},
    }
}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def mutate(doc: object, draw: st.DrawFn) -> object:
    """Replace, drop or add one thing somewhere in ``doc``."""
    if isinstance(doc, dict) and doc and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(doc)))
        copy = dict(doc)
        action = draw(st.sampled_from(["drop", "replace", "recurse", "add"]))
        if action == "drop":
            del copy[key]
        elif action == "replace":
            copy[key] = draw(values)
        elif action == "add":
            copy[draw(st.text(max_size=8))] = draw(values)
        else:
            copy[key] = mutate(copy[key], draw)
        return copy
    return draw(values) if draw(st.booleans()) else doc


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, object]) -> str:
    return yaml.safe_dump(mutate(base, draw))


raw_texts = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.lists(
        st.sampled_from(
            [
                "duts:",
                "  a:",
                "    profile: p",
                "  a:",
                "reference_devkit:",
                "- x",
                "{",
                "]",
                "&a x",
                "*a",
                "!!python/object:os.system",
                "'",
                "\t",
                "key: [1, {2: 3}]",
                "---",
            ]
        ),
        max_size=12,
    ).map("\n".join),
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load_both(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "p.yaml").write_text(yaml.safe_dump(VALID_PROFILE))
        path = folder / "x.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        for loader in (
            load_profile,
            lambda p: load_inventory(p, profile_dirs=[folder], blocks=[SIM_BLOCK]),
        ):
            try:
                loader(path)
            except ConfigError as err:
                assert err.path == str(path)
                assert str(err)


@FUZZ
@given(raw_texts)
def test_arbitrary_text_raises_only_config_errors(text: str) -> None:
    _load_both(text)


@FUZZ
@given(mutated(VALID_PROFILE))
def test_mutated_profiles_raise_only_config_errors(text: str) -> None:
    _load_both(text)


@FUZZ
@given(mutated(VALID_BENCH))
def test_mutated_inventories_raise_only_config_errors(text: str) -> None:
    _load_both(text)
