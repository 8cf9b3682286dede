"""Promotion gate: compare a candidate BSP run with a baseline run and give one verdict.

``results`` reads and writes a run's ``results.json``; ``verdict`` applies the rules;
``report`` renders the HTML report (timeline picture included); ``gate`` is the command.
Nothing here imports pytest.
"""
