"""Bot1: the admissions helper (registration, four application sections, "My applications", settings)."""
