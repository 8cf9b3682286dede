"""The simulated Jetson bench: synthetic L4T trees, in-tree tools, USB view and console.

A product feature (see issue 3): the plugin's real code paths run unchanged against it.
"""
