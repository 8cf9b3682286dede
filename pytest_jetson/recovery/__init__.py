"""The recovery ladder (rungs that bring an unresponsive DUT back, the known-good reflash) and
the quarantine store."""
