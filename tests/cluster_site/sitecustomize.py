"""Test support, not a test: makes every Python process started with this folder on
``PYTHONPATH`` (Dask workers, spawned routing workers) stop its route searches on their work
limit only, never on the clock, with a twentieth of the usual work.

The cluster tests compare plans made on different processes on a machine busy with other work;
the engine's wall-clock safety stop would make those differ (``schools_stopped_by_clock``).
The tests' own process gets the same values with ``monkeypatch``. (When routing's deterministic
``--work-limit`` mode is available the tests use it instead.)
"""

import os

if os.environ.get("SEN_TRANSPORT_TEST_WORK_ONLY"):
    import transport.routing._solve as _solve

    for _name, _value in (("TIME_CAP", 1000.0), ("RATE_SAFETY", 0.02)):
        if hasattr(_solve, _name):
            setattr(_solve, _name, _value)
