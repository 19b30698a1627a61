"""One module per command group; `crm.cli` registers them."""
