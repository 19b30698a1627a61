"""Mock operational data (`crm seed mock`): its generator and the bulk loaders that write it (SPEC §13)."""
