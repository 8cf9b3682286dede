"""Preflight: the checks of procedure step 5 as plain functions returning typed results, and the
order they run in. Imports the layers below (data, host, tree, drivers)."""
