"""The host layer: argv-only process runs with deadlines, where a command runs (this host or a
bench host over SSH), DUT locks and secret redaction. Imports only the data layer."""
