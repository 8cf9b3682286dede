"""Remote benches on labgrid: DUTs attached to other hosts, reached through a coordinator.

* :mod:`pytest_jetson.remote.spec` — the inventory's ``labgrid:`` block (no labgrid needed).
* :mod:`pytest_jetson.host.transport` — where a command runs: :class:`LocalTransport` or
  :class:`SshTransport` (no labgrid needed).
* :mod:`pytest_jetson.remote.labgrid` — the place (lock, resources, RCM, console URL, SSH);
  imports labgrid lazily, only when a remote DUT is used.
* :mod:`pytest_jetson.sim.rig.exporter` — a labgrid exporter for simulated DUTs (tests, demos).

Nothing in this package is imported by the plugin at startup, and nothing here imports labgrid
at module level: the main package works without labgrid installed.
"""
