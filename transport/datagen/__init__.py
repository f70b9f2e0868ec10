"""Data tools apart from the pipeline: the deterministic synthetic Kent data set."""
