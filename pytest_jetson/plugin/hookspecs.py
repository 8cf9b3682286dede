"""Hook specifications: every customisation point of pytest-jetson is a ``pytest_jetson_*`` hook.

Default implementations live in :mod:`pytest_jetson.plugin.defaults` and are registered ``trylast``,
so a bench's ``conftest.py`` (for instance ``hil/<bench>/conftest.py``) overrides them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry


@pytest.hookspec(firstresult=True)
def pytest_jetson_resolve_dut(config: pytest.Config, name: str, workdir: Path) -> BenchEntry | None:
    """Resolve the DUT called ``name`` (from ``--dut``) into a bench entry.

    Called once per DUT, when a test or step first needs it. ``workdir`` is an empty
    directory under the session's temporary directory that the implementation may use (the
    simulated bench builds its tree there). Return None to let the next implementation try.
    The default implementation starts the reserved simulated DUTs (``sim-orin``,
    ``sim-orin-nano``, ``sim-thor``) and inventory entries with a ``sim:`` block, and otherwise
    looks the name up in the bench inventory.
    """


@pytest.hookspec(firstresult=True)
def pytest_jetson_known_duts(config: pytest.Config) -> list[str] | None:
    """Return the DUT names this bench knows, for ``--dut`` validation and error messages.

    A bench ``conftest.py`` that resolves DUTs from elsewhere (a lab database) implements
    this together with :func:`pytest_jetson_resolve_dut`.
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
