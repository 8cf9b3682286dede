"""Flashing: the flow-tool choice, the plan and its digest, the run, the summary and the
procedure that ties preflight, recovery, flash and boot together for one DUT."""
