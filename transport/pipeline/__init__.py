"""The pipeline: one scenario through the stages, the stage cache and typed run summaries.

:func:`run_scenario` is the one path from settings to results — placement (with capacity
changes), routes, prices and personal transport budgets — used by every command: ``place``
stops after placement, ``solve`` after routes, ``budgets`` starts from a solved run, and
``compare`` runs it once per scenario with a :class:`StageCache`. It writes nothing; the jobs
(:mod:`transport.jobs`) and the compare engine write folders.
"""

from transport.pipeline._forms import as_written
from transport.pipeline.cache import StageCache, code_digest, dataset_digest, digest
from transport.pipeline.run import BudgetsResult, ScenarioResult, run_scenario
from transport.pipeline.summary import RunSummary, ScenarioDetails

__all__ = [
    "BudgetsResult",
    "RunSummary",
    "ScenarioDetails",
    "ScenarioResult",
    "StageCache",
    "as_written",
    "code_digest",
    "dataset_digest",
    "digest",
    "run_scenario",
]
