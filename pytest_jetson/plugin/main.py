"""pytest entry point (``pytest11``): options, ini keys, markers, fixtures and session start.

Without ``--dut`` the plugin is inert: it registers its options, markers and fixtures, and
nothing else runs (no device is opened, no file is read). With a DUT it builds the session state
and registers :class:`~pytest_jetson.plugin.active.JetsonPlugin`, which does the per-session
work. Everything heavy is imported only once a DUT is selected.
"""

from __future__ import annotations

import pytest

from pytest_jetson.errors import excerpt
from pytest_jetson.inputs import MAX_SECONDS
from pytest_jetson.plugin import hookspecs
from pytest_jetson.plugin.argtypes import number, one_of, whole_number
from pytest_jetson.plugin.fixtures import (
    jetson_console,
    jetson_dut,
    jetson_dut_name,
    jetson_eeprom,
    jetson_entry,
    jetson_profile,
    jetson_rcm,
    jetson_shell,
)

__all__ = [
    "jetson_console",
    "jetson_dut",
    "jetson_dut_name",
    "jetson_eeprom",
    "jetson_entry",
    "jetson_profile",
    "jetson_rcm",
    "jetson_shell",
]

pytest_plugins = ["pytest_jetson.plugin.fixtures_carrier"]

GROUP = "Jetson hardware-in-the-loop (pytest-jetson)"
"""The title of the ``jetson`` option group (plugins of ours add their options to it)."""
ACCEPT_PLAN = "--jetson-accept-plan"
ACCEPT_ANY = "*"
FLASH = "--jetson-flash"
FLASH_MODES = ("always", "auto")

MARKERS = (
    "jetson_preflight(*checks, on_fail='fail'): run the named preflight checks "
    "(bsp_image, rcm, eeprom, default_user, or a bench's own) on the DUT before the test; "
    "a defect fails the test (on_fail='skip' skips it), an unavailable bench skips it.",
    "jetson_chip(*chips): run the test only on DUTs of these chip families (t234, t264).",
    "jetson_step: a step of the --jetson-flash flow or a --jetson-boot-cycles cycle (added by "
    "pytest-jetson).",
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Add the ``pytest_jetson_*`` hook specifications."""
    pluginmanager.add_hookspecs(hookspecs)


MAX_CYCLES = 10_000

_seconds = number(minimum=0, maximum=MAX_SECONDS, what="seconds")
_cycles = whole_number(minimum=0, maximum=MAX_CYCLES, what="a number of cycles")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``jetson`` option group and ini keys."""
    group = parser.getgroup("jetson", GROUP)
    group.addoption(
        "--dut",
        dest="dut",
        default=None,
        metavar="NAME",
        help="DUT(s) to run against, by bench-inventory name (comma-separated); "
        "sim-orin, sim-orin-nano, sim-thor and sim-orin-carrier are built-in simulated DUTs. "
        "Default: $JETSON_DUT. Without it the plugin does nothing.",
    )
    group.addoption(
        "--jetson-bench",
        dest="jetson_bench",
        default=None,
        metavar="PATH",
        help="bench inventory file (default: ini jetson_bench, else hil/bench.yaml under "
        "the rootdir when it exists).",
    )
    group.addoption(
        "--jetson-profile",
        dest="jetson_profile",
        default=None,
        metavar="NAME|PATH",
        help="use this target-platform profile instead of the DUT's own "
        "(a path, or a name looked up in profiles/).",
    )
    group.addoption(
        "--jetson-strict",
        dest="jetson_strict",
        action="store_true",
        default=False,
        help="turn every skip caused by an unavailable bench into a failure "
        "(a dead bench is never green in CI).",
    )
    group.addoption(
        FLASH,
        dest="jetson_flash",
        nargs="?",
        const="always",
        default=None,
        type=one_of(*FLASH_MODES),
        help="flash the DUT's bsp_image and validate the boot as ordered test items "
        "before the collected tests. --jetson-flash=auto (always with '='): skip the flash "
        "when the host record, the provisioning marker and the booted board's identity "
        "prove it already runs the plan's image (the boot is still validated).",
    )
    group.addoption(
        ACCEPT_PLAN,
        dest="jetson_accept_plan",
        default=None,
        action="append",
        nargs="?",
        const=ACCEPT_ANY,
        metavar="[DUT=]DIGEST",
        help="accept the flash plan: bare, whatever resolves; =DIGEST, only that exact plan "
        "(CI gating pins it); =DUT=DIGEST (repeatable), that DUT's exact plan, and a DUT without "
        "a pin is refused. Without it, flashing asks on a terminal and fails otherwise.",
    )
    group.addoption(
        "--jetson-plan-only",
        dest="jetson_plan_only",
        action="store_true",
        default=False,
        help="with --jetson-flash: run the preflights, print the plan and its digest, stop.",
    )
    group.addoption(
        "--jetson-boot-cycles",
        dest="jetson_boot_cycles",
        type=_cycles,
        default=0,
        metavar="N",
        help="reboot each DUT N times (after --jetson-flash, or from its current image), each "
        "a test item boot-cycle-NN that validates and times every boot stage.",
    )
    group.addoption(
        "--jetson-report",
        dest="jetson_report",
        default=None,
        metavar="FILE",
        help="write a self-contained HTML report of this run (the boot timeline of its "
        "cycles, its results) to FILE.",
    )
    group.addoption(
        "--jetson-artifacts",
        dest="jetson_artifacts",
        default=None,
        metavar="DIR",
        help="where logs and the flash summary JSON go (default: jetson-artifacts/ "
        "under the rootdir; one folder per DUT).",
    )
    group.addoption(
        "--jetson-deadline",
        dest="jetson_deadline",
        action="append",
        default=[],
        metavar="STEP=SECONDS",
        help="override a step deadline (boardctl, rcm, eeprom, default_user, flash, boot, "
        "login, recovery); repeatable.",
    )
    group.addoption(
        "--jetson-lock-timeout",
        dest="jetson_lock_timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long to wait for a DUT another session holds before failing (default 300).",
    )
    group.addoption(
        "--jetson-requalify",
        dest="jetson_requalify",
        action="store_true",
        default=False,
        help="run a health check (reset, boot, login) of each --dut instead of the tests; "
        "it lifts a DUT's quarantine when it passes and keeps it (with the attempt) otherwise.",
    )
    group.addoption(
        "--jetson-teardown",
        dest="jetson_teardown",
        type=one_of("leave", "power_off", "recovery"),
        metavar="leave|power_off|recovery",
        default=None,
        help="the state DUTs are left in after the session (default: the bench entry's "
        "teardown, else leave booted).",
    )
    parser.addini(
        "jetson_lock_dir",
        help="folder of the DUT locks shared by every session on this bench host "
        "(default: the inventory's lock_dir, else /tmp/pytest-jetson-locks).",
        default="",
    )
    parser.addini(
        "jetson_bench",
        help="bench inventory file, relative to the rootdir (default hil/bench.yaml).",
        default="",
    )


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Let a bare ``--jetson-accept-plan`` stand before a path (``... --jetson-accept-plan
    hil/``): it means "accept any plan"; a digest must be given as ``=DIGEST``. The same for a
    bare ``--jetson-flash`` (always flash); ``auto`` is given as ``--jetson-flash=auto``."""
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == ACCEPT_PLAN:
            args[index] = f"{ACCEPT_PLAN}={ACCEPT_ANY}"
        elif arg == FLASH:  # bare: flash always; a mode is given only as --jetson-flash=MODE
            args[index] = f"{FLASH}=always"


def pytest_configure(config: pytest.Config) -> None:
    """Register markers and defaults; with ``--dut``, set up the session state."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    from pytest_jetson.plugin import defaults, markers

    config.pluginmanager.register(defaults, "jetson-defaults")
    config.pluginmanager.register(markers, "jetson-markers")

    from pytest_jetson.plugin.session import selected_duts

    try:
        names = selected_duts(config)
        if not names:
            return
        _start_session(config, names)
    except Exception as exc:
        from pytest_jetson.errors import ConfigError

        if isinstance(exc, ConfigError):
            raise pytest.UsageError(str(exc)) from None
        raise


def _start_session(config: pytest.Config, names: tuple[str, ...]) -> None:
    from pytest_jetson.errors import UsageError
    from pytest_jetson.plugin.session import STATE_KEY, make_session

    state = make_session(config, names)
    config.stash[STATE_KEY] = state
    from pytest_jetson.plugin.active import PLUGIN_NAME, JetsonPlugin

    # The session's per-test work, as one plugin object (like pytest's StepwisePlugin); it also
    # closes the session at unconfigure, so it is registered before anything can fail.
    config.pluginmanager.register(JetsonPlugin(config, state), PLUGIN_NAME)
    known = state.known_names()
    unknown = [n for n in state.dut_names if n not in known]  # pools expanded
    if unknown:
        bench = f" in {state.inventory.path}" if state.inventory is not None else ""
        raise UsageError(
            f"unknown DUT {', '.join(map(excerpt, unknown))}{bench}; "
            f"known DUTs: {', '.join(known) or '(none)'}"
        )
    config.hook.pytest_jetson_session_start(config=config, names=state.dut_names)
    state.deadline_overrides()  # a malformed --jetson-deadline is a usage error now
    state.check_artifacts()
    profile = config.getoption("jetson_profile")
    if profile:
        state.load_profile_ref(profile)  # a bad --jetson-profile is one usage error, now
    from pytest_jetson.flash.plan import Acceptance

    problems = Acceptance(config.getoption("jetson_accept_plan")).problems(state.dut_names)
    if problems:
        raise UsageError("; ".join(problems))
    from pytest_jetson.plugin.terminate import Termination, child_pids

    # SIGTERM (a CI runner cancelling the job) ends the run as Ctrl-C does: the tool is killed,
    # teardown and the summary run, the locks are released; then the process dies of it. An
    # xdist controller passes it on to its workers at once.
    controller = _xdist_controller(config)
    termination = Termination(
        lambda: list(state.locks.values()), forward=child_pids if controller else None
    )
    termination.install()
    if controller:
        from pytest_jetson.plugin.terminate import ControllerWait

        config.pluginmanager.register(ControllerWait(termination), "jetson-controller-wait")
    config.add_cleanup(termination.redeliver)
    from pytest_jetson.plugin import placeguard  # remote (labgrid) DUTs: the place between items

    config.pluginmanager.register(placeguard, "jetson-remote")
    from pytest_jetson.plugin.results import ResultsWriter  # results.json of every DUT

    config.pluginmanager.register(ResultsWriter(state), "jetson-results")
    if config.getoption("jetson_requalify"):
        from pytest_jetson.plugin import requalify

        config.pluginmanager.register(requalify, "jetson-requalify")
        return
    if config.getoption("jetson_flash") or config.getoption("jetson_boot_cycles"):
        from pytest_jetson.plugin import steps

        config.pluginmanager.register(steps, "jetson-items")


def _xdist_controller(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist controller (it distributes, it is no worker).
    Read from the options: xdist registers its session plugin after this plugin's configure."""
    if hasattr(config, "workerinput"):
        return False
    dist = config.getoption("dist", "no")
    return dist is not None and dist != "no" and bool(config.getoption("tx", None))
