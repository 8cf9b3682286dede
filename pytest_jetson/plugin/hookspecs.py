"""Hook specifications: every customisation point of pytest-jetson is a ``pytest_jetson_*`` hook.

Default implementations live in :mod:`pytest_jetson.plugin.defaults` and are registered ``trylast``,
so a bench's ``conftest.py`` (for instance ``hil/<bench>/conftest.py``) overrides them. The
simulated bench is a plugin of its own (:mod:`pytest_jetson.sim.plugin`, entry point
``jetson_sim``) that provides the ``sim-*`` DUTs and the inventory's ``sim:`` blocks through
these same hooks, as a bench ``conftest.py`` would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry, EntryBlock


@pytest.hookspec(firstresult=True)
def pytest_jetson_resolve_dut(config: pytest.Config, name: str, workdir: Path) -> BenchEntry | None:
    """Resolve the DUT called ``name`` (from ``--dut``) into a bench entry.

    Called once per DUT, when a test or step first needs it. ``workdir`` is an empty
    directory under the session's temporary directory that the implementation may use.
    Return None to let the next implementation try. The default implementation looks the name
    up in the bench inventory; the simulator's plugin first starts its built-in DUTs
    (``sim-orin``, ``sim-orin-nano``, ``sim-thor``) and inventory entries with a ``sim:`` block.
    """


@pytest.hookspec(firstresult=True)
def pytest_jetson_known_duts(config: pytest.Config) -> list[str] | None:
    """Return the DUT names this bench knows, for ``--dut`` validation and error messages.

    A bench ``conftest.py`` that resolves DUTs from elsewhere (a lab database) implements
    this together with :func:`pytest_jetson_resolve_dut`. The default returns the inventory's
    DUTs; a plugin that brings DUTs of its own (the simulator) wraps this hook
    (``wrapper=True``) and adds its names to the result.
    """


@pytest.hookspec
def pytest_jetson_entry_blocks(config: pytest.Config) -> list[EntryBlock] | None:
    """Add blocks to the bench inventory's DUT entries.

    Return :class:`~pytest_jetson.bench.EntryBlock` values: the key, a parser that reads the
    block (its errors name file, line and key), whether the block makes ``profile`` optional,
    and DUT names no inventory may declare. The parsed value is read back with
    ``entry.block(key, Type)``. Called once, when a DUT is selected and the inventory is loaded;
    a key no plugin adds is an "unknown key" error. The simulator adds ``sim:`` this way.
    """


@pytest.hookspec
def pytest_jetson_session_start(config: pytest.Config, names: tuple[str, ...]) -> None:
    """A DUT is selected: the session exists and ``names`` are the DUTs (pools expanded, all
    known). Check your own options here: a :class:`~pytest_jetson.errors.ConfigError` raised
    is shown as a usage error. The simulator checks ``--jetson-sim-fault`` names here.
    """


@pytest.hookspec
def pytest_jetson_session_finish(config: pytest.Config) -> None:
    """The session ends: every DUT was put in its teardown state, its console and tools closed
    and its lock released. Stop what your plugin started for the session; the session's
    temporary folder is removed right after. The simulator stops its simulated host here.
    """


@pytest.hookspec(firstresult=True)
def pytest_jetson_usb_backend(config: pytest.Config, entry: BenchEntry) -> Any:
    """The pyusb backend through which DUT ``entry``'s RCM device is looked for.

    Return None for the host's libusb (the default). The simulator returns its simulated USB
    bus for its DUTs.
    """


@pytest.hookspec(firstresult=True)
def pytest_jetson_dut_lock(config: pytest.Config, name: str) -> bool | None:
    """Whether DUT ``name`` takes the bench host's exclusive lock for the session.

    The default is yes, except for a remote (``labgrid:``) DUT, whose labgrid place is its lock.
    The simulator answers no for its built-in DUTs, which are private to the session.
    """


@pytest.hookspec
def pytest_jetson_preflight_checks(config: pytest.Config) -> dict[str, Any] | None:
    """Add named preflight checks usable in ``@pytest.mark.jetson_preflight(...)``.

    Return a mapping of check name → callable ``(dut) -> PreflightOutcome``. The built-in
    checks are ``bsp_image``, ``rcm``, ``eeprom`` and ``default_user``.
    """


@pytest.hookspec(firstresult=True)
def pytest_jetson_accept_plan(config: pytest.Config, plan: Any, digest: str) -> bool | None:
    """Decide whether the printed flash ``plan`` (with its ``digest``) is accepted.

    Return True to flash, False to refuse. The default accepts with ``--jetson-accept-plan``
    (any plan) or ``--jetson-accept-plan=<digest>`` (only that exact plan), asks on an
    interactive terminal, and refuses otherwise.
    """


@pytest.hookspec(firstresult=True)
def pytest_jetson_commit_preview(
    config: pytest.Config, repo: Path, staged: Sequence[str], message: str
) -> Any:
    """Preview a derive-carrier commit before it is made.

    Return a decision: accept, edit (with a new message) or cancel. The default accepts with
    ``--jetson-accept-commits``, asks on an interactive terminal, and cancels otherwise.
    """
