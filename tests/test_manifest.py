"""manifest.json: every folder written says what produced it; verify and the run readers hold
a folder to it.

The manifest is checked against the files themselves (hashes recomputed here with hashlib),
the command line as given and the settings' sources.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from transport.cli.main import cli
from transport.runs.manifest import MANIFEST, verify_folder

TINY = Path(__file__).parent / "data" / "tiny"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FAST = ["--time-limit", "2", "--workers", "1", "--quiet"]


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    """A solve of a copy of the tiny data, through the command line, with a scenario file."""
    root = tmp_path_factory.mktemp("manifest")
    data = root / "data"
    shutil.copytree(TINY, data)
    scenario = root / "sc.toml"
    scenario.write_text("[routing]\nseed = 4\n[travel]\ncircuity = 1.25\n")
    out = root / "run"
    result = invoke(
        "solve", "--data", data, "--out", out, "--scenario", scenario, "--seed", "7", *FAST
    )
    assert result.exit_code == 0, result.output
    return out


def test_manifest_records_engine_command_inputs_outputs_and_settings(solved):
    doc = manifest(solved)
    root = solved.parent
    assert doc["kind"] == "run"
    assert doc["engine"]["name"] == "sen-transport" and doc["engine"]["version"]
    if (Path(__file__).resolve().parents[1] / ".git").exists():
        assert len(doc["engine"]["git_commit"]) == 40
    assert set(doc["versions"]) == {"python", "ortools", "pyvrp"}
    assert all(doc["versions"].values())
    assert doc["command"][:2] == ["sen-transport", "solve"]
    assert "--seed" in doc["command"] and str(solved) in doc["command"]
    assert doc["started_utc"] <= doc["finished_utc"] and doc["finished_utc"].endswith("Z")
    assert doc["user"] and doc["host"]
    # every input read, hashed as read
    inputs = {Path(i["path"]).name: i for i in doc["inputs"]}
    for name in ("schools.csv", "pupils.csv", "vehicles.csv", "incompatible.csv"):
        assert inputs[name]["sha256"] == sha(root / "data" / name)
        assert inputs[name]["role"] == "data"
    assert inputs["sc.toml"]["role"] == "scenario"
    assert inputs["sc.toml"]["sha256"] == sha(root / "sc.toml")
    # every output written, and nothing else
    outputs = {o["file"]: o["sha256"] for o in doc["outputs"]}
    written = {p.name for p in solved.iterdir() if p.name not in (MANIFEST, ".sen-transport")}
    assert set(outputs) == written >= {"placements.csv", "routes.csv", "stops.csv", "summary.json"}
    assert all(outputs[name] == sha(solved / name) for name in outputs)
    # every setting, with where its value came from
    settings = doc["parameters"]["settings"]
    assert settings["routing.seed"] == {"value": 7, "from": "option"}
    assert settings["travel.circuity"] == {"value": 1.25, "from": "scenario file"}
    assert settings["travel.speed_mph"] == {"value": 25.0, "from": "default"}
    assert settings["routing.time_limit_s"]["from"] == "option"
    options = doc["parameters"]["options"]
    assert options["data_dir"]["from"] == "option" and options["verbose_ids"]["from"] == "default"
    assert doc["seed"]["routing.seed"] == 7
    assert doc["time_limit_s"] == 2.0
    summary = json.loads((solved / "summary.json").read_text())
    assert doc["time_limit_reached"] == summary["time_limit_reached"]


def test_no_user_leaves_out_user_and_host(tmp_path):
    out = tmp_path / "run"
    result = invoke("--no-user", "place", "--data", TINY, "--out", out)
    assert result.exit_code == 0, result.output
    doc = manifest(out)
    assert "user" not in doc and "host" not in doc
    assert doc["kind"] == "run" and {o["file"] for o in doc["outputs"]} >= {"placements.csv"}


def test_verify_passes_an_untouched_run(solved):
    result = invoke("verify", solved)
    assert result.exit_code == 0, result.output
    assert "match" in result.output
    assert verify_folder(solved).ok


def test_verify_names_an_edited_routes_csv(solved, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(solved, run)
    routes = run / "routes.csv"
    routes.write_text(routes.read_text().replace("R0001", "R0099", 1))
    result = invoke("verify", run)
    assert result.exit_code == 1
    assert "routes.csv" in result.output and "changed" in result.output
    assert [c.file for c in verify_folder(run).differing] == ["routes.csv"]


def test_verify_names_an_edited_pupils_csv(solved, tmp_path):
    """The data folder moved and one pupil's row changed: --data finds it, names the file."""
    moved = tmp_path / "moved"
    shutil.copytree(solved.parent / "data", moved)
    assert invoke("verify", solved, "--data", moved).exit_code == 0
    pupils = moved / "pupils.csv"
    lines = pupils.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",Ashford,9,", ",Ashford,10,", 1)  # one pupil a year older
    pupils.write_text("".join(lines))
    result = invoke("verify", solved, "--data", moved)
    assert result.exit_code == 1
    assert "pupils.csv" in result.output
    assert [Path(c.file).name for c in verify_folder(solved, data_dir=moved).differing] == [
        "pupils.csv"
    ]


def test_verify_names_missing_and_foreign_files(solved, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(solved, run)
    (run / "stops.csv").unlink()
    (run / "notes.txt").write_text("added by hand")
    found = {c.file: c.status for c in verify_folder(run).differing}
    assert found == {"stops.csv": "missing", "notes.txt": "not in manifest"}


def test_verify_without_a_manifest_is_a_domain_error(tmp_path):
    result = invoke("verify", TINY)
    assert result.exit_code == 2
    assert "no manifest.json" in result.output


@pytest.mark.parametrize("command", ["sheets", "diff", "budgets", "tender"])
def test_commands_refuse_a_run_edited_after_it_was_written(solved, tmp_path, command):
    run = tmp_path / "run"
    shutil.copytree(solved, run)
    stops = run / "stops.csv"
    stops.write_text(stops.read_text() + "\n")  # one blank line more
    data = solved.parent / "data"
    args = {
        "sheets": ["sheets", run, "--data", data, "--out", tmp_path / "sheets"],
        "diff": ["diff", solved, run],
        "budgets": ["budgets", "--data", data, "--run", run, "--out", tmp_path / "b"],
        "tender": ["tender", run, "--data", data, "--out", tmp_path / "t", "--no-pdf"],
    }[command]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "stops.csv" in result.output
    assert "no longer matches manifest.json" in " ".join(result.output.split()) or (
        "no longer matches its manifest.json" in result.output
    )
    assert not (tmp_path / "sheets").exists() and not (tmp_path / "b").exists()


def test_every_folder_a_command_writes_has_a_manifest(solved, tmp_path):
    data = solved.parent / "data"
    runs = {
        "sheets": ["sheets", solved, "--data", data, "--out", tmp_path / "sheets"],
        "budgets": ["budgets", "--data", data, "--run", solved, "--out", tmp_path / "budgets"],
        "tender": ["tender", solved, "--data", data, "--out", tmp_path / "tender", "--no-pdf"],
    }
    for name, args in runs.items():
        result = invoke(*args)
        assert result.exit_code == 0, (name, result.output)
        folder = tmp_path / name
        assert verify_folder(folder).ok, name
        doc = manifest(folder)
        assert doc["command"][1] == name
        run_inputs = {Path(i["path"]).name for i in doc["inputs"] if i["role"] == "run"}
        assert {"routes.csv", "summary.json", MANIFEST} <= run_inputs, name


def test_a_library_call_records_its_inputs_too(tmp_path):
    from transport.jobs import solve_job
    from transport.scenario import Scenario

    out = tmp_path / "run"
    solve_job(TINY, out, scenario=Scenario().with_overrides({"routing.time_limit_s": 2}))
    doc = manifest(out)
    assert doc["command"] is None
    assert {Path(i["path"]).name for i in doc["inputs"]} >= {"pupils.csv", "schools.csv"}
    assert doc["parameters"]["settings"]["routing.time_limit_s"]["from"] == "option"
    assert verify_folder(out).ok


def test_a_comparison_and_its_scenario_folders_verify(compare_dir):
    """compare writes one manifest for the comparison (its cache left out) and one per
    scenario folder (routes.geojson and routes.gpkg added by the report); each scenario's
    settings are its own, with their sources."""
    result = verify_folder(compare_dir)
    assert result.ok, result.differing
    files = {c.file for c in result.checks if c.role == "output"}
    assert {"comparison.csv", "report.html", "scenarios/baseline/routes.csv"} <= files
    assert "scenarios/baseline/routes.geojson" in files
    assert not any(f.startswith("cache/") for f in files)
    top = manifest(compare_dir)
    assert top["kind"] == "compare" and top["command"][1] == "compare"
    assert all(".tmp-" not in i["path"] for i in top["inputs"])
    sc = manifest(compare_dir / "scenarios" / "nearest-suitable")
    assert sc["scenario"] == "nearest-suitable"
    assert sc["parameters"]["settings"]["placement.policy"] == {
        "value": "nearest-suitable",
        "from": "scenario file",
    }
    assert sc["parameters"]["settings"]["routing.time_limit_s"]["from"] == "option"
