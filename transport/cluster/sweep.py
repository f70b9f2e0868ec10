"""Sweeps: a grid of scenario variants (capacity options × budget rules × seeds …) compared.

A grid file (``GRID.toml``, documented in docs/formats.md, "Sweep grids") names a base scenario
and axes; every combination of one option per axis is a variant, a scenario of its own::

    name = "ptb-grid"
    description = "Budget rules × uptake × routing seeds"
    base = "../baseline.toml"          # the scenario every variant starts from (optional)
    include_base = true                # the base file as it is is a row, the table's baseline

    [set]                              # scenario keys set in every variant (not the base)
    "budgets.offer" = true

    [axes]                             # an axis: one scenario key and its values ...
    "budgets.rule" = ["kent-bands", "mileage"]
    "routing.seed" = [0, 1]

    [axes.places]                      # ... or named options, each a piece of a scenario file
    none = {}
    asd-semh-275 = { capacity = [{ needs = ["ASD", "SEMH"], add = 275, where = "best" }] }

A variant is the base scenario file's tables with the ``[set]`` keys, then each axis's option,
written over them (a table merges key by key, anything else replaces), named
``NAME-<option>-<option>…`` and parsed by the same scenario parser as a file, so an unknown key
or a bad value names the variant and the key. :func:`sweep` compares the variants (and the
base) with :func:`transport.compare.compare_scenarios`: one comparison table, a scenario folder
each, the stage cache (variants that share a placement or routes compute them once), and, on a
cluster, every variant's stages spread over the workers. ``sweep.csv`` adds one column per axis.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport.compare import compare_scenarios
from transport.errors import ScenarioError
from transport.executor import Executor
from transport.runs.atomic import atomic_write_text
from transport.scenario import Scenario, parse_scenario

GRID_KEYS = {"name", "description", "base", "include_base", "set", "axes"}
MAX_VARIANTS = 5000
"""A grid of more variants is refused (a typo in an axis, not a sweep anyone meant)."""
SWEEP_COLUMNS = (
    "annual_transport_cost",
    "annual_place_cost",
    "ptb_offers",
    "ptb_expected_saving",
    "ptb_saving_p5",
    "ptb_saving_p95",
    "annual_total_cost",
    "saving_vs_baseline",
    "target_progress",
    "routes",
    "unrouted",
    "unplaced",
)
"""The comparison's columns repeated in sweep.csv after the axes."""


@dataclass(frozen=True)
class Axis:
    """One axis of a grid: its name and its options as ``(label, scenario fragment)``."""

    name: str
    options: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class Variant:
    """One combination: the scenario, its TOML text, and the option chosen on each axis."""

    scenario: Scenario
    text: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Grid:
    """A parsed grid file: the base scenario's document, its axes and the variants."""

    name: str
    description: str
    base: dict[str, Any]
    base_text: str | None
    axes: tuple[Axis, ...]
    variants: tuple[Variant, ...]

    @property
    def keys(self) -> set[str]:
        """The scenario keys an axis varies (``budgets.rule``)."""
        out = set()
        for axis in self.axes:
            for _, fragment in axis.options:
                out |= set(_flat_keys(fragment))
        return out


def load_grid(path: str | Path) -> Grid:
    """Read a grid file and build every variant (each parsed and checked like a scenario file).

    Raises
    ------
    ScenarioError
        A bad grid (unknown key, empty axis, a base that cannot be read), or a variant whose
        settings are not a valid scenario (the variant and the key named).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ScenarioError(f"cannot read grid {path}: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path.name}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - GRID_KEYS)
    if unknown:
        raise ScenarioError(
            f"{path.name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(GRID_KEYS))})"
        )
    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ScenarioError(f"{path.name}: name must use letters, digits, '-', '_' or '.' only")
    base: dict[str, Any] = {}
    base_text = None
    if "base" in doc:
        base_path = (path.parent / str(doc["base"])).resolve()
        try:
            base_text = base_path.read_text(encoding="utf-8-sig")
            base = tomllib.loads(base_text)
        except OSError as exc:
            raise ScenarioError(f"{path.name}: cannot read base {doc['base']}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{path.name}: base {doc['base']}: not valid TOML: {exc}") from None
        base.setdefault("name", base_path.stem)
        parse_scenario(base_text, source=str(doc["base"]), default_name=base_path.stem)
    common = _table(doc.get("set", {}), f"{path.name}: [set]")
    base_doc = _merge(base, _nested(common, f"{path.name}: [set]"))
    axes = _axes(doc.get("axes", {}), path.name)
    combos = math.prod(len(a.options) for a in axes) if axes else 0
    if combos == 0:
        raise ScenarioError(f"{path.name}: [axes] must give at least one axis with options")
    if combos > MAX_VARIANTS:
        raise ScenarioError(f"{path.name}: {combos:,} variants; at most {MAX_VARIANTS:,}")
    variants = []
    for choice in itertools.product(*(a.options for a in axes)):
        labels = tuple(label for label, _ in choice)
        vname = "-".join([name, *labels])
        vdoc = base_doc
        for _, fragment in choice:
            vdoc = _merge(vdoc, fragment)
        described = ", ".join(f"{a.name}={label}" for a, label in zip(axes, labels, strict=True))
        vdoc = {**vdoc, "name": vname, "description": f"{name}: {described}"}
        vtext = dump_toml(vdoc)
        scenario = parse_scenario(vtext, source=f"{path.name} variant {vname}")
        variants.append(Variant(scenario, vtext, labels))
    include = doc.get("include_base", True)
    if not isinstance(include, bool):
        raise ScenarioError(f"{path.name}: include_base must be true or false")
    shown_base = None
    if include:
        base_final = {"name": "baseline", **base}  # the base file as it is: no [set]
        if base_final["name"] in {v.scenario.name for v in variants}:
            raise ScenarioError(
                f"{path.name}: a variant has the base's name {base_final['name']!r}"
            )
        shown_base = dump_toml(base_final)
        parse_scenario(shown_base, source=f"{path.name} base")
    return Grid(
        name=name,
        description=str(doc.get("description", "")),
        base=base_doc,
        base_text=shown_base,
        axes=tuple(axes),
        variants=tuple(variants),
    )


def sweep(
    grid_file: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    overrides: Mapping[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    graph_cache_dir: str | Path | None = None,
    use_cache: bool = True,
    districts_file: str | Path | None = None,
    executor: Executor | None = None,
    progress: Callable[[str], None] | None = None,
    finish: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """Compare every variant of a grid (and its base) and write the comparison folder.

    Writes what :func:`transport.compare.compare_scenarios` writes (comparison.csv and .json,
    a scenario folder per variant with its scenario.toml, the cache) and ``sweep.csv``: one
    row per variant with its option on each axis and the comparison's totals, and
    ``sweep.json``; all in the comparison's temporary folder, which takes its place in one
    step. Options (``overrides``) apply to every variant, but may not set a key an axis
    varies. ``finish`` is called with that temporary folder once it is complete (the report).

    Returns
    -------
    dict
        The comparison.json document, with ``sweep`` (the grid's name, axes and variants).
    """
    grid = load_grid(grid_file)
    clash = sorted(set(overrides or {}) & grid.keys)
    if clash:
        raise ScenarioError(
            f"{Path(grid_file).name}: an option would override the axis {clash[0]}: "
            "leave it out, or change the grid"
        )
    sources: list[tuple[Scenario, str]] = []
    if grid.base_text is not None:
        sources.append((parse_scenario(grid.base_text, source="base"), grid.base_text))
    sources += [(v.scenario, v.text) for v in grid.variants]
    about = {
        "grid": grid.name,
        "description": grid.description,
        "axes": {a.name: [label for label, _ in a.options] for a in grid.axes},
        "variants": len(grid.variants),
    }

    def write_sweep(stage: Path) -> None:
        _write_sweep_files(stage, grid, about)
        if finish is not None:
            finish(stage)

    doc = compare_scenarios(
        sources,
        data_dir,
        out_dir,
        overrides=overrides,
        cache_dir=cache_dir,
        graph_cache_dir=graph_cache_dir,
        use_cache=use_cache,
        districts_file=districts_file,
        executor=executor,
        progress=progress,
        finish=write_sweep,
    )
    doc["sweep"] = about
    return doc


def _write_sweep_files(out: Path, grid: Grid, about: dict[str, Any]) -> None:
    """sweep.csv and sweep.json beside the comparison.json just written in ``out``."""
    doc = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    rows = {r["scenario"]: r for r in doc["scenarios"]}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["scenario", *(a.name for a in grid.axes), *SWEEP_COLUMNS])
    named = [(v.scenario.name, v.labels) for v in grid.variants]
    if grid.base_text is not None:
        named.insert(0, (doc["baseline"], ("",) * len(grid.axes)))
    for name, labels in named:
        row = rows[name]
        writer.writerow([row["scenario"], *labels, *(_cell(row.get(c)) for c in SWEEP_COLUMNS)])
    atomic_write_text(out / "sweep.csv", buf.getvalue())
    atomic_write_text(out / "sweep.json", json.dumps(about, indent=2) + "\n")


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Axes and merging


def _axes(table: Any, source: str) -> list[Axis]:
    table = _table(table, f"{source}: [axes]")
    out = []
    for key, value in table.items():
        where = f"{source}: axis {key!r}"
        if isinstance(value, list):
            if not value:
                raise ScenarioError(f"{where} has no values")
            fragments = [_nested({key: v}, where) for v in value]
            labels = [_label(key, v) for v in value]
        elif isinstance(value, dict):
            if not value:
                raise ScenarioError(f"{where} has no options")
            labels = [_safe(str(k)) for k in value]
            fragments = [_table(v, f"{where} option {k!r}") for k, v in value.items()]
        else:
            raise ScenarioError(
                f"{where} must be a list of values of one key, or a table of named options"
            )
        if len(set(labels)) != len(labels):
            raise ScenarioError(f"{where}: two options have the same label")
        out.append(Axis(key, tuple(zip(labels, fragments, strict=True))))
    return out


def _label(key: str, value: Any) -> str:
    """An option's label: a text value itself, else the key's last part and the value."""
    if isinstance(value, str):
        return _safe(value)
    if isinstance(value, list):
        return _safe("+".join(map(str, value)))
    short = key.rsplit(".", 1)[-1].removesuffix("_s")
    return _safe(f"{short}{_text(value)}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where} must be a table")
    return value


def _nested(flat: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``{"budgets.rule": "x"}`` as ``{"budgets": {"rule": "x"}}`` (tables kept as given)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        if len(parts) > 2 or not all(parts):
            raise ScenarioError(f"{where}: {key!r} is not a scenario key (table.key)")
        if len(parts) == 1:
            out = _merge(out, {key: value})
        else:
            out = _merge(out, {parts[0]: {parts[1]: value}})
    return out


def _merge(base: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """``change`` written over ``base``: tables merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _flat_keys(fragment: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in fragment.items():
        if isinstance(value, dict) and not prefix:
            out += _flat_keys(value, f"{key}.")
        else:
            out.append(prefix + key)
    return out


# ---------------------------------------------------------------------------------------------
# TOML text of a scenario document


def dump_toml(doc: Mapping[str, Any]) -> str:
    """A scenario document as TOML text (scalars, arrays, tables, arrays of tables).

    Examples
    --------
    >>> print(dump_toml({"name": "a", "routing": {"seed": 1}}), end="")
    name = "a"
    <BLANKLINE>
    [routing]
    seed = 1
    """
    lines = [f"{_key(k)} = {_value(v)}" for k, v in doc.items() if not _is_table(v)]
    for key, value in doc.items():
        if isinstance(value, dict):
            lines += ["", f"[{_key(key)}]"]
            lines += [f"{_key(k)} = {_value(v)}" for k, v in value.items()]
        elif _is_table(value):
            for item in value:
                lines += ["", f"[[{_key(key)}]]"]
                lines += [f"{_key(k)} = {_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise ScenarioError(f"cannot write {value!r} in a scenario file")
