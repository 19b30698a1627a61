"""The mart definitions of SPEC §7, one module per subject; importing the package registers every mart function
against its contract entry (warehouse/marts/registry.py)."""

from warehouse.marts import applications, catalog, coverage, surveys  # noqa: F401 (imported to register)
