"""The recovery ladder (rungs that bring an unresponsive DUT back) and the quarantine store."""
