"""Incremental builds (SPEC §7): the plan of what changed and the in-place maintenance of the big facts."""
