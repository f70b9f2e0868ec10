"""Solved runs and tender folders of the tiny data set, shared by the tender tests."""

from __future__ import annotations

from pathlib import Path

from transport.jobs import solve_job
from transport.routing import RoutingOptions
from transport.scenario import PlacementSettings, Scenario

TINY = Path(__file__).parent / "data" / "tiny"
FAST = RoutingOptions(time_limit_s=1, workers=1)


def solve_tiny(out: Path, *, data: Path = TINY, policy: str = "keep", seed: int = 0) -> Path:
    """A real solve of ``data`` (tiny: a second or two) into ``out``."""
    scenario = Scenario(
        placement=PlacementSettings(policy=policy),
        routing=RoutingOptions(time_limit_s=1, workers=1, seed=seed),
    )
    solve_job(data, out, scenario=scenario, unnamed=True)
    return out
