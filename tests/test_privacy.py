"""Pupil data is special-category: what the terminal, the logs and each export may carry.

* terminal output (stdout and stderr), log records (DEBUG and up) and warnings of place,
  solve, sheets, budgets and diff carry no pupil id and no home coordinate, at any precision;
  with ``--verbose-ids`` the ids of unplaced / unrouted / changed pupils appear;
* exports carry a home location only where the reader needs it: the route sheets' pickup
  point (by design); placements, routes, stops, summaries and budgets never;
* redacted route sheets hold no need, age, solo flag or other health data;
* every file written is readable by its owner only (0o600), every folder 0o700.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import stat
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.runs.destination import MARKER
from transport.runs.sheets import NEVER_REDACTED

TINY = Path(__file__).parent / "data" / "tiny"
SITES = Path(__file__).parent / "data" / "siting" / "candidates.csv"
FAST = ["--time-limit", "2", "--workers", "1"]
NEEDS = ("ASD", "SEMH", "SLCN", "MLD", "SLD", "PMLD", "PD", "HI", "VI", "MSI", "SpLD", "OTH")


def home_patterns(data_dir: Path) -> list[re.Pattern[str]]:
    """Every pupil's home latitude and longitude at 2 to 6 decimals (and as a bare number)."""
    out: set[str] = set()
    for p in read_dataset(data_dir).pupils:
        for value, least in ((p.lat, 2), (p.lon, 3)):  # 0.88 alone is too common a number
            for dp in range(least, 7):
                out.add(f"{value:.{dp}f}")
    return [re.compile(rf"(?<![\d.]){re.escape(v)}(?!\d)") for v in sorted(out)]


def pupil_ids(data_dir: Path) -> list[re.Pattern[str]]:
    return [
        re.compile(rf"(?<![\w]){re.escape(p.pupil_id)}(?!\w)")
        for p in read_dataset(data_dir).pupils
    ]


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def hits(patterns: list[re.Pattern[str]], text: str) -> list[str]:
    return sorted({m.group(0) for pat in patterns for m in pat.finditer(text)})


@pytest.fixture
def leaky_data(tiny_copy: Path) -> Path:
    """The tiny data with one pupil no school serves and three no vehicle can carry."""
    pupils = tiny_copy / "pupils.csv"
    home = "P06,51.2600,1.0500,Canterbury,"
    pupils.write_text(pupils.read_text().replace(home + "10", home + "3"))
    vehicles = tiny_copy / "vehicles.csv"
    vehicles.write_text("".join(vehicles.read_text().splitlines(True)[:4]))
    return tiny_copy


def run_everything(data: Path, tmp: Path, *extra: str) -> tuple[str, Path]:
    """Every command that reads pupil data, once each; all terminal output, logs, warnings."""
    runner = CliRunner()
    commands = [
        ["place", "--policy", "nearest-suitable", "--data", str(data), "--out", str(tmp / "ns")],
        ["place", "--policy", "keep", "--data", str(data), "--out", str(tmp / "keep")],
        ["solve", "--data", str(data), "--out", str(tmp / "a"), *FAST],
        ["solve", "--data", str(data), "--out", str(tmp / "b"), "--seed", "3", "--policy",
         "optimal", *FAST],
        ["solve", "--data", str(data), "--runs-dir", str(tmp / "runs"), "--quiet", *FAST],
        ["sheets", str(tmp / "a"), "--data", str(data), "--out", str(tmp / "sheets")],
        ["sheets", str(tmp / "a"), "--data", str(data), "--out", str(tmp / "ops"), "--redact"],
        ["budgets", "--data", str(data), "--run", str(tmp / "a"), "--out", str(tmp / "ptb"),
         "--draws", "50"],
        ["diff", str(tmp / "keep"), str(tmp / "b"), "--out", str(tmp / "changes.csv")],
        ["site", "--data", str(data), "--candidates", str(SITES), "--out", str(tmp / "site")],
    ]  # fmt: skip
    texts = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for args in commands:
            if args[0] in ("place", "solve", "diff", "site"):
                args = [*args, *extra]
            result = runner.invoke(cli, args, catch_exceptions=False)
            assert result.exit_code == 0, (args, result.output)
            texts.append(result.output)
            texts.append(result.stderr)
    texts += [str(w.message) for w in caught]
    return "\n".join(texts), tmp


def test_terminal_logs_and_warnings_carry_no_ids_or_homes(leaky_data, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    text, _ = run_everything(leaky_data, tmp_path)
    text += "\n".join(r.getMessage() for r in caplog.records)
    assert "could not be placed" in text and "could not be routed" in text  # counts are shown
    assert hits(pupil_ids(leaky_data), text) == []
    assert hits(home_patterns(leaky_data), text) == []


def test_verbose_ids_shows_the_ids_and_still_no_homes(leaky_data, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    text, _ = run_everything(leaky_data, tmp_path, "--verbose-ids")
    text += "\n".join(r.getMessage() for r in caplog.records)
    shown = set(hits(pupil_ids(leaky_data), text))
    assert {"P04", "P05", "P06", "P11"} <= shown  # unplaced and unrouted, in place and solve
    assert hits(home_patterns(leaky_data), text) == []


def test_homes_appear_only_in_route_sheets(tiny_dir, tmp_path):
    _, out = run_everything(tiny_dir, tmp_path)
    homes = home_patterns(tiny_dir)
    with_homes = set()
    for path in out.rglob("*"):
        if path.is_file() and hits(homes, path.read_text(encoding="utf-8")):
            with_homes.add(path.relative_to(out).as_posix())
    # the pickup point, by design: the driver must find the child's home
    assert with_homes == {
        "sheets/route-sheets.csv",
        "sheets/route-sheets.html",
        "ops/route-sheets.csv",
        "ops/route-sheets.html",
    }
    for folder in ("sheets", "ops"):
        rows = read_rows(out / folder / "route-sheets.csv")
        pupils = read_dataset(tiny_dir).pupil_by_id
        for row in rows:  # the home to 4 decimals (about 10 m), nothing finer
            p = pupils[row["pupil_id"]]
            assert row["pickup_point"] == f"{p.lat:.4f}, {p.lon:.4f}"


def test_redacted_sheets_hold_no_needs_or_health_data(tiny_dir, tmp_path):
    _, out = run_everything(tiny_dir, tmp_path)
    data = read_dataset(tiny_dir)
    with open(out / "ops" / "route-sheets.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and not set(rows[0]) & set(NEVER_REDACTED)
    assert set(rows[0]) == {
        "route_id", "school_id", "school_name", "arrive_by", "vehicle_type",
        "passenger_assistant", "seq", "pupil_id", "pickup_point", "pickup_time", "dropoff_time",
        "wheelchair",
    }  # fmt: skip
    school_names = {s.name for s in data.schools}
    html = (out / "ops" / "route-sheets.html").read_text(encoding="utf-8")
    for name in school_names:  # a school's own name may say what it specialises in
        html = html.replace(name, "")
    for row in rows:
        cells = [v for k, v in row.items() if k != "school_name"]
        assert not set(cells) & set(NEEDS), row
    assert not re.findall(rf"\b({'|'.join(NEEDS)})\b", html, flags=re.IGNORECASE)
    assert not re.search(r"\b(need|age|solo|ride)\b", html, flags=re.IGNORECASE)
    # the planner sheet has them, and both sheets list every pickup of the run
    with open(out / "sheets" / "route-sheets.csv", encoding="utf-8") as fh:
        planner = list(csv.DictReader(fh))
    assert [r["need"] for r in planner] == [data.pupil_by_id[r["pupil_id"]].need for r in planner]
    stops = read_rows(out / "a" / "stops.csv")
    key = ("route_id", "seq", "pupil_id", "pickup")
    assert sorted((r["route_id"], r["seq"], r["pupil_id"], r["pickup_time"]) for r in rows) == (
        sorted(tuple(s[k] for k in key) for s in stops)
    )
    dropoffs = {(s["route_id"], s["pupil_id"]): s["dropoff"] for s in stops}
    for r in rows:
        assert r["wheelchair"] == ("yes" if data.pupil_by_id[r["pupil_id"]].wheelchair else "no")
        assert r["dropoff_time"] == dropoffs[r["route_id"], r["pupil_id"]]


def test_every_output_is_owner_only(tiny_dir, tmp_path):
    _, out = run_everything(tiny_dir, tmp_path / "out")
    seen = 0
    for path in [out, *out.rglob("*")]:
        if path.is_symlink():  # runs/latest: a link's own mode means nothing
            continue
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
        seen += 1
    assert seen > 30
    leftovers = [p.name for p in out.rglob(".*") if p.name != MARKER]
    assert leftovers == []  # no temporary folder or lock left anywhere, only the markers
