"""The simulated bench as a pytest plugin of its own (entry point ``jetson_sim``).

It plugs into pytest-jetson through the same ``pytest_jetson_*`` hooks a bench ``conftest.py``
uses: it adds the built-in DUTs (``sim-orin``, ``sim-orin-nano``, ``sim-thor``) to the known
ones and resolves them, reads the inventory's ``sim:`` blocks, gives its DUTs the simulated USB
bus, keeps its built-in DUTs out of the bench lock, and owns the ``--jetson-sim-*`` options.
``-p no:jetson_sim`` leaves pytest-jetson without simulated DUTs.

A simulated host is one bench host: its DUTs share one USB bus, each with its own debugger.
The inventory's ``sim:`` DUTs live on the inventory's host, which every xdist worker and every
session using that inventory at the same time share (in the lock folder, see :func:`host_root`),
as the boards of a real bench share its host; they are locked like real DUTs. The built-in DUTs
live on the run's host: the session's own, or shared by the xdist workers of the run. A host
starts with its first DUT; a session hands each DUT back when it ends (before its lock is
released), and the last session on a host removes it. Without ``--dut`` nothing here runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_jetson.plugin.argtypes import number, one_of, whole_number
from pytest_jetson.plugin.main import GROUP

if TYPE_CHECKING:
    from pytest_jetson.bench import BenchEntry, DefaultUser, EntryBlock
    from pytest_jetson.profile import Profile
    from pytest_jetson.sim.bench import SimSpec
    from pytest_jetson.sim.host import SimDut, SimHost

HOSTS_KEY = pytest.StashKey[dict[str, "SimHost"]]()
"""The session's simulated hosts by key: ``run`` (the built-in DUTs) or ``inventory:<path>``."""
ROOT_PREFIX = "pytest-jetson-sim-"


MAX_SPEED = 1000.0
"""The fastest time factor of the simulated bench (faster only starves its own timers)."""


_positive_float = number(minimum=0, maximum=MAX_SPEED, zero_ok=False, what="a time factor")
"""nan and inf would never end a wait; a factor of 0 would stop the clock."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """The simulator's options, in the ``jetson`` group."""
    group = parser.getgroup("jetson", GROUP)
    group.addoption(
        "--jetson-sim-fault",
        dest="jetson_sim_fault",
        action="append",
        default=[],
        metavar="NAME",
        help="inject a fault into the simulated DUTs (repeatable), e.g. kernel_panic, "
        "slow_stage=kernel:800ms, flaky_boot=0.2.",
    )
    group.addoption(
        "--jetson-sim-speed",
        dest="jetson_sim_speed",
        type=_positive_float,
        default=1.0,
        metavar="FACTOR",
        help="time factor of the simulated bench (2 = twice as fast; default 1).",
    )
    group.addoption(
        "--jetson-sim-start",
        dest="jetson_sim_start",
        type=one_of("booted", "factory", "blank", "off"),
        metavar="booted|factory|blank|off",
        default="booted",
        help="how the simulated DUTs are found: booted (default: flashed with their tree, "
        "at a login prompt), factory (an older image, first-boot wizard), blank (nothing "
        "flashed, silent console) or off (powered off).",
    )
    group.addoption(
        "--jetson-sim-seed",
        dest="jetson_sim_seed",
        type=whole_number(minimum=-(2**63), maximum=2**63 - 1, what="a seed"),
        default=0,
        metavar="N",
        help="seed of the simulated consoles' combined-UART interleaving (default 0; "
        "the same seed gives the same bytes).",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_jetson_entry_blocks(config: pytest.Config) -> list[EntryBlock]:
    """The inventory's ``sim:`` block (and the built-in names no inventory may declare)."""
    from pytest_jetson.sim.bench import SIM_BLOCK

    return [SIM_BLOCK]


@pytest.hookimpl(optionalhook=True)
def pytest_jetson_session_start(config: pytest.Config, names: tuple[str, ...]) -> None:
    """``--jetson-sim-fault`` names must be faults the simulator knows (with a valid value
    for those that take one); a usage error names the bad ones and the valid ones."""
    faults: list[str] = config.getoption("jetson_sim_fault")
    if faults:
        from pytest_jetson.sim.faults import check_faults

        check_faults(faults)


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_jetson_known_duts(config: pytest.Config) -> Any:
    """The built-in simulated DUTs, added to whatever the bench knows (sorted)."""
    from pytest_jetson.sim.bench import SIM_DUTS

    names: list[str] | None = yield
    return sorted({*SIM_DUTS, *(names or [])})


@pytest.hookimpl(optionalhook=True)
def pytest_jetson_resolve_dut(config: pytest.Config, name: str, workdir: Path) -> BenchEntry | None:
    """Start a built-in simulated DUT, or an inventory entry with a ``sim:`` block."""
    from pytest_jetson.bench import DefaultUser
    from pytest_jetson.plugin.session import get_session
    from pytest_jetson.sim.bench import BUILTIN_PORTS, SIM_BOARDS, SimSpec

    state = get_session(config)
    if state is None:
        return None
    if name in SIM_BOARDS:
        builtin = SimSpec(board=SIM_BOARDS[name])
        entry = _start(config, name, builtin, DefaultUser("ubuntu"), port_hint=BUILTIN_PORTS[name])
        return _with_carrier(config, entry)
    dut = None if state.inventory is None else state.inventory.duts.get(name)
    spec = None if dut is None else dut.block("sim", SimSpec)
    if dut is None or spec is None or state.inventory is None:
        return None
    if spec.state is not None:
        spec = replace(spec, state=str(state.inventory.path.parent / spec.state))
    # The inventory's boot_device is honoured: the simulated board is built for it and its
    # profile says it (the product then checks it as for any DUT: an unknown one is refused).
    entry = _start(
        config,
        name,
        spec,
        dut.default_user,
        usb_port=dut.usb_port,
        boot_device=dut.boot_device,
    )
    # The bench's operations settings hold for a simulated DUT too.
    entry = replace(
        entry,
        teardown=dut.teardown,
        deadlines=dut.deadlines,
        ladder=dut.ladder,
        recovery=dut.recovery,  # manual: no boardctl (boot cycles type sudo reboot)
    )
    if dut.profile_ref is not None:
        # The inventory names a profile: keep its platform data but flash the simulated tree.
        from pytest_jetson.profile import load_profile

        profile = load_profile(state.inventory.profile_path(dut))
        entry = replace(entry, profile=replace(profile, bsp_image=entry.profile.bsp_image))
    if dut.known_good is not None:
        entry = replace(entry, known_good=_known_good(config, entry, spec))
    return entry


def _known_good(config: pytest.Config, entry: BenchEntry, spec: SimSpec) -> Profile:
    """A simulated DUT's known-good image: whatever ``known_good`` names, a second simulated
    tree of its board and release (the simulator keeps its own trees, as with ``profile:``),
    with the DUT's platform data."""
    from pytest_jetson.profile import BspImage

    keep = Path(spec.state) if spec.state is not None else None
    tree = sim_host(config, entry.name).known_good_tree(entry.name, keep=keep)
    return replace(entry.profile, bsp_image=BspImage(root_path=tree.root, version=tree.release))


@pytest.hookimpl(optionalhook=True)
def pytest_jetson_usb_backend(config: pytest.Config, entry: BenchEntry) -> Any:
    """A simulated DUT's RCM device is on the simulated host's USB bus."""
    from pytest_jetson.sim.bench import SimSpec

    if entry.block("sim", SimSpec) is None:
        return None
    for host in config.stash.get(HOSTS_KEY, {}).values():
        if entry.name in host.duts:
            return host.usb_backend()
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_jetson_dut_lock(config: pytest.Config, name: str) -> bool | None:
    """The built-in simulated DUTs are private to the session: no bench lock."""
    from pytest_jetson.sim.bench import SIM_DUTS

    return False if name in SIM_DUTS else None


@pytest.hookimpl(optionalhook=True)
def pytest_jetson_session_finish(config: pytest.Config) -> None:
    """Leave the simulated hosts: stop the consoles this session runs; the last session on a
    shared host removes it."""
    hosts = config.stash.get(HOSTS_KEY, None)
    if hosts is not None:
        del config.stash[HOSTS_KEY]
        for host in hosts.values():
            host.close()


def sim_duts(config: pytest.Config) -> dict[str, SimDut]:
    """The simulated DUTs this session started or attached, by name (every host)."""
    found: dict[str, SimDut] = {}
    for host in config.stash.get(HOSTS_KEY, {}).values():
        found.update(host.duts)
    return found


def sim_host(config: pytest.Config, name: str | None = None) -> SimHost:
    """The simulated host of DUT ``name`` (None: of the built-in DUTs), opened on first use."""
    from pytest_jetson.plugin.session import get_session
    from pytest_jetson.sim.bench import SIM_DUTS

    state = get_session(config)
    assert state is not None, "a simulated host exists only with a DUT selected"
    inventory = state.inventory
    if name is None or name in SIM_DUTS or inventory is None or name not in inventory.duts:
        return _open_host(config, "run", _run_root(config))
    key = f"inventory:{inventory.path.resolve()}"
    return _open_host(config, key, host_root(state.lock_dir(), key))


def host_root(lock_dir: Path, key: str) -> Path:
    """Where the shared host ``key`` lives: ``<lock folder>/pytest-jetson-sim-<digest>``. The
    lock folder is what every session of one bench host shares already (the DUT locks)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return lock_dir / f"{ROOT_PREFIX}{digest}"


def _run_root(config: pytest.Config) -> Path | None:
    """The shared root of the run's built-in DUTs under xdist (one per run, by its
    ``testrunuid``); None without xdist: the session's own host."""
    from pytest_jetson.plugin.session import get_session

    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None:
        return None
    state = get_session(config)
    assert state is not None
    return host_root(state.lock_dir(), f"run:{workerinput['testrunuid']}")


def _open_host(config: pytest.Config, key: str, root: Path | None) -> SimHost:
    from pytest_jetson.plugin.session import get_session
    from pytest_jetson.sim.host import SimHost

    hosts = config.stash.setdefault(HOSTS_KEY, {})
    host = hosts.get(key)
    if host is None:
        if root is None:
            state = get_session(config)
            assert state is not None
            host = SimHost(state.workdir / "sim-host")
        else:
            from pytest_jetson.sim.hostdir import sweep_stale

            sweep_stale(root.parent, ROOT_PREFIX)  # hosts of killed sessions, this one's too
            host = SimHost.shared(root)
        hosts[key] = host
    return host


def _start(
    config: pytest.Config,
    name: str,
    spec: SimSpec,
    default_user: DefaultUser | None,
    *,
    usb_port: str | None = None,
    port_hint: str | None = None,
    boot_device: str | None = None,
) -> BenchEntry:
    """Start a simulated DUT on its simulated host (plugged into ``usb_port`` when the
    inventory says where, else on ``port_hint`` when free) and describe it as a bench entry."""
    from pytest_jetson.bench import BenchEntry, SerialSpec
    from pytest_jetson.plugin.session import get_session
    from pytest_jetson.profile import load_profile
    from pytest_jetson.sim.bench import BOOT_DEVICES, SimSpec

    faults = tuple(dict.fromkeys((*spec.faults, *config.getoption("jetson_sim_fault"))))
    speed: float = config.getoption("jetson_sim_speed")
    host = sim_host(config, name)
    dut = host.add_dut(
        name,
        spec.board,
        release=spec.release,
        faults=faults,
        speed=speed,
        default_boot_device=boot_device or BOOT_DEVICES.get(spec.board),
        start=config.getoption("jetson_sim_start"),
        user=_credentials(default_user),
        tcu_seed=config.getoption("jetson_sim_seed"),
        tree_name=spec.tree,
        keep=Path(spec.state) if spec.state is not None else None,
        usb_port=usb_port,
        port_hint=port_hint,
    )
    session = get_session(config)
    assert session is not None
    # Handed back before the session releases the DUT's lock: the next holder starts its own
    # console on a host that may outlive this session.
    session.on_close(lambda: host.release(name))
    return BenchEntry(
        name=name,
        profile=load_profile(dut.profile_path),
        boardctl_target=dut.boardctl_target,
        boardctl_serial=dut.boardctl_serial if spec.debugger == "named" else None,
        serial=SerialSpec(port=str(dut.console_port)),
        usb_port=dut.usb_port,
        default_user=default_user,
        recovery="boardctl",
        blocks=(
            (
                "sim",
                SimSpec(
                    board=spec.board,
                    release=dut.release,
                    faults=faults,
                    tree=spec.tree,
                    debugger=spec.debugger,
                ),
            ),
        ),
    )


def _with_carrier(config: pytest.Config, entry: BenchEntry) -> BenchEntry:
    """A built-in simulated DUT with a custom carrier: its profile declares the carrier and
    names the source workspace kept under the rootdir (its own image stays the session's)."""
    from pytest_jetson.profile import load_profile
    from pytest_jetson.sim.carrier import CARRIER_DUTS, carrier_bench

    if entry.name not in CARRIER_DUTS:
        return entry
    bench = carrier_bench(config.rootpath, entry.name)
    carrier = load_profile(bench.profile_path)
    profile = replace(entry.profile, custom_carrier=carrier.custom_carrier, source=carrier.source)
    return replace(entry, profile=profile)


def _credentials(user: DefaultUser | None) -> tuple[str, str] | None:
    """The user a simulated board that the bench flashed before has: ubuntu/ubuntu and
    nvidia/nvidia are NVIDIA's documented defaults; a custom user's password is read from
    its environment variable; ``skip`` (or no answer) staged nobody."""
    import os

    if user is None or user.name is None:
        return None
    if user.kind == "custom":
        password = os.environ.get(user.password_env or "")
        return None if password is None else (user.name, password)
    return (user.name, user.kind)
