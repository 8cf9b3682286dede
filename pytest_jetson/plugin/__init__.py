"""The pytest layer: options, hookspecs, default hooks, session state, fixtures, markers, step
items, reporting. The only layer that imports pytest and turns domain errors into outcomes."""
