"""Run folders: writing them atomically, reading them back, dated history and route sheets."""
