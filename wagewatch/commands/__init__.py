"""CLI commands grouped by domain; `wagewatch.cli` registers them on the main group."""
