"""A solved run with a mixed-school route (tests/data/mixed), shared by the tests of every
command that reads a run: letters, sheets and crew packs, tender, impact, diff.

tests/data/mixed: two schools near each other (S1 arrives by 09:00, S2 by 09:10, S2's day
ending at 15:30), two pupils of each in the same far village (one vehicle takes all four: the
mixed-school route) and a pupil of S2 who travels alone (a single-school route).
"""

from __future__ import annotations

from pathlib import Path

from transport.jobs import solve_job
from transport.model import Route, route_schools
from transport.routing import RoutingOptions
from transport.runs.write import read_run
from transport.scenario import PlacementSettings, Scenario

MIXED = Path(__file__).parent / "data" / "mixed"


def solve_mixed(out: Path, *, mixed: bool = True) -> Path:
    """A deterministic solve of tests/data/mixed into ``out`` (well under a second).

    ``mixed=True`` (the default, as the command's) has exactly one mixed-school route;
    ``mixed=False`` (``--no-mixed-school``) has none.
    """
    scenario = Scenario(
        placement=PlacementSettings(policy="keep"),
        routing=RoutingOptions(work_limit=5, workers=1, seed=0, mixed_school=mixed),
    )
    solve_job(MIXED, out, scenario=scenario, unnamed=True)
    multi = [r for r in read_run(out).routes if len(route_schools(r)) > 1]
    assert len(multi) == (1 if mixed else 0), [r.school_id for r in read_run(out).routes]
    return out


def mixed_route_of(run_dir: Path) -> Route:
    """The run's mixed-school route."""
    (route,) = [r for r in read_run(run_dir).routes if len(route_schools(r)) > 1]
    return route
