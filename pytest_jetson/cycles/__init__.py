"""Boot cycles: reboot a DUT N times and time every boot stage (host clock and firmware timers).

``record`` holds the typed results, ``timers`` reads the firmware's own timers from console
lines, ``stats`` summarises stages over cycles, ``run`` drives one cycle. Nothing here imports
pytest: the step items live in ``plugin/cycles.py``.
"""
