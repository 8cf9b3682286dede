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
                assert len(str(err)) < len(str(path)) + 600, str(err)  # quotes, never floods


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


# -- every field, one at a time ---------------------------------------------------------------

RICH_PROFILE = {
    **VALID_PROFILE,
    "custom_carrier": {"id": "p1234", "sku": "0000", "name": "Acme", "flash_config": "a.conf"},
    "source": {"root_path": "src"},
    "rootfs_ab": False,
}
RICH_BENCH = {
    "lock_dir": "locks",
    "duts": {
        "a": {
            "profile": "p.yaml",
            "teardown": "power_off",
            "deadlines": {step: 60 for step in ("boardctl", "rcm", "eeprom", "flash", "boot")},
            "boardctl_target": "topo",
            "boardctl_serial": "TOPO1",
            "serial": {"port": "/dev/ttyACM0", "baud": 115200},
            "usb_port": "1-4",
            "boot_device": "nvme0n1p1",
            "default_user": {"username": "qa", "password_env": "QA_PASSWORD"},
            "recovery": "boardctl",
            "ladder": ["reset", "power_cycle"],
            "known_good": "p.yaml",
        },
        "b": {
            "profile": "p.yaml",
            "boardctl_target": "topo",
            "boardctl_index": 1,
            "serial": {"port": "/dev/ttyACM1"},
            "default_user": "nvidia",
        },
        "c": {"sim": {"board": "orin-agx", "faults": ["kernel_panic"], "release": "R36.4.3"}},
    },
}

BAD_FIELD_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            "",
            "~nouser-xyz/p.yaml",
            "a\x00b",
            "../" * 40 + "x",
            "x" * 5000,
            "/dev/null",
            float("inf"),
            float("-inf"),
            -1,
            0,
            10**400,
            1e308,
            True,
            [],
            {},
            ["x", {"y": 1}],
        ]
    ),
    values,
)


def _leaf_paths(doc: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every key path of ``doc`` (dict keys and list indices), inner nodes included."""
    paths: list[tuple[object, ...]] = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            paths += _leaf_paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            paths += _leaf_paths(value, (*prefix, index))
    return paths


def _replaced(doc: object, path: tuple[object, ...], value: object) -> object:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {k: (_replaced(v, rest, value) if k == head else v) for k, v in doc.items()}
    assert isinstance(doc, list) and isinstance(head, int)
    return [(_replaced(v, rest, value) if i == head else v) for i, v in enumerate(doc)]


def _dump(doc: object) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, OverflowError):  # a float yaml cannot write: write it by hand
        return yaml.safe_dump(doc).replace("inf", "1e999")


def test_the_rich_documents_are_valid() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "p.yaml").write_text(yaml.safe_dump(VALID_PROFILE))
        (folder / "x.yaml").write_text(yaml.safe_dump(RICH_PROFILE))
        load_profile(folder / "x.yaml")
        (folder / "b.yaml").write_text(yaml.safe_dump(RICH_BENCH))
        load_inventory(folder / "b.yaml", profile_dirs=[folder], blocks=[SIM_BLOCK])


FIELDS = settings(max_examples=120, deadline=None, derandomize=True, database=None)


@FIELDS
@given(st.sampled_from(_leaf_paths(RICH_PROFILE)), BAD_FIELD_VALUES)
def test_every_profile_field_given_a_bad_value_is_a_located_config_error(
    path: tuple[object, ...], value: object
) -> None:
    _load_both(_dump(_replaced(RICH_PROFILE, path, value)))


@FIELDS
@given(st.sampled_from(_leaf_paths(RICH_BENCH)), BAD_FIELD_VALUES)
def test_every_inventory_field_given_a_bad_value_is_a_located_config_error(
    path: tuple[object, ...], value: object
) -> None:
    _load_both(_dump(_replaced(RICH_BENCH, path, value)))
