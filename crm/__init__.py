"""The `crm` command: the composition root that wires ingest, warehouse, reports and bots into processes."""
