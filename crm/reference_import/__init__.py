"""`crm import reference`: a running reference database (RS §2, Django schema of 176e7eb) moved into the operational
store (SPEC §3), keeping every uuid. `source` reads the reference, `mapping` turns its rows into ours (and says which
it refuses, and why), `target` reads and writes our store, `run` orders the tables and keeps the counts.
The decisions are written down in docs/reference-import.md."""
