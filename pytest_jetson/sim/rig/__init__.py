"""The labgrid test rig of the simulated bench: a coordinator and exporter on loopback that
export simulated DUTs, so remote benches are tested without a second host."""
