"""Rootdir conftest: the project's own tests use pytester to drive the plugin in-process."""

pytest_plugins = ["pytester"]
