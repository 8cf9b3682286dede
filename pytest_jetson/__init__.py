"""pytest-jetson: a pytest plugin and HIL test framework for NVIDIA Jetson boards.

The library layer (profiles, bench, tools, simulator) never imports pytest; the plugin
layer (:mod:`pytest_jetson.plugin.main` and friends) is the only place that does.
"""

__version__ = "0.1.0"
