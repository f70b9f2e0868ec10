"""The engine's layers, lowest first: a module imports only its own layer and lower ones.

::

    base < data < travel < placement < routing < runs < budgets < tender < letters
         < pipeline < compare < report < cluster < jobs < datagen < cli

``base`` is the data model and what every stage shares (errors, units, geodesy, costing, the
definition of a disturbed family, formatting, the scenario settings, executors, the one
atomic-write helper). ``runs`` (writing and reading run folders, history, route sheets) comes
after routing because a run folder is the written form of a plan, and before budgets, which
start from a solved run; ``tender`` (tender packs, awards, change impact) reads run folders;
``letters`` (letters to families, crew packs) renders a run folder.
``pipeline`` runs a scenario through the stages; ``compare`` runs
several; ``report`` renders a compare folder; ``cluster`` runs the work on a Dask cluster
(executors are passed down, so no stage imports it) and expands grids of scenarios (sweeps);
``jobs`` read inputs and write folders for the command line; ``datagen`` (the synthetic Kent
generator) is a data tool apart from the stages.

Only the routing layer imports a routing solver (:data:`ROUTING_SOLVERS`). The import-layer
test (``tests/test_layers.py``) holds these rules, and the compare cache keys each stage's
results by the source of the layers it runs (:mod:`transport.pipeline.cache`).
"""

from __future__ import annotations

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        (
            "transport",
            "transport.model",
            "transport.errors",
            "transport.units",
            "transport.geo",
            "transport.costing",
            "transport.changes",
            "transport.formatting",
            "transport.scenario",
            "transport.executor",
            "transport.layers",
            "transport.audit",
            "transport.runs.atomic",
        ),
    ),
    ("data", ("transport.data",)),
    ("travel", ("transport.travel",)),
    ("placement", ("transport.placement",)),
    ("routing", ("transport.routing",)),
    ("runs", ("transport.runs",)),
    ("budgets", ("transport.budgets",)),
    ("tender", ("transport.tender",)),
    ("letters", ("transport.letters",)),
    ("pipeline", ("transport.pipeline",)),
    ("compare", ("transport.compare",)),
    ("report", ("transport.report",)),
    ("cluster", ("transport.cluster",)),
    ("jobs", ("transport.jobs", "transport.site_job")),
    ("datagen", ("transport.datagen",)),
    ("cli", ("transport.cli", "transport.__main__")),
)
"""Each layer's modules and packages (a package holds its sub-modules), lowest first."""

LAYER_NAMES: tuple[str, ...] = tuple(name for name, _ in LAYERS)

ROUTING_SOLVERS = ("ortools.constraint_solver", "ortools.routing", "pyvrp")
"""Routing solvers: imported by the routing layer only. (Placement's exact policy uses
OR-Tools' min-cost flow, ``ortools.graph``, which is not a routing solver.)"""


DASK = ("dask", "distributed")
"""Dask's packages: imported by :data:`DASK_BACKEND` only, and only with ``--scheduler``."""
DASK_BACKEND = "transport.cluster.dask_backend"


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name of the engine (None for a module of no layer).

    Examples
    --------
    >>> layer_of("transport.travel._osm"), layer_of("transport.runs.atomic")
    ('travel', 'base')
    """
    best: tuple[int, str] | None = None
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            exact = module == prefix
            inside = prefix != "transport" and module.startswith(prefix + ".")
            if (exact or inside) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), name)
    return best[1] if best else None


def rank(layer: str) -> int:
    """The position of a layer, 0 for ``base``."""
    return LAYER_NAMES.index(layer)
