"""Bot2: the student and graduate employment survey."""
