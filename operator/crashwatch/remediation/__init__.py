"""Opt-in remediation: policy match, safety checks, then a memory floor or a rollback."""
