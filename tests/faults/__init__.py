"""Fixtures of the fault suite (tests/test_faults_*.py): a badly behaved HTTP server, bad pages,
the registry of faults that docs/reliability.md is generated from (`python -m bench.reliability`)."""
