"""Shared fixtures of the misuse corpus (tests/test_misuse*.py).

A *world* is a temporary folder laid out as a user's: a data folder, two solved run folders,
scenario files, a working folder (the current directory of the command) and a home folder
(``$HOME``). Every misuse case runs one command in a fresh world and checks that the world is
byte-identical afterwards (nothing written, nothing half-written, no temporary folder or lock
left, no parent folder created), that the exit status and message are the expected ones, that
no traceback is shown and that no pupil id or home coordinate appears in the output.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from transport.cli.main import cli
from transport.data.validate import read_dataset

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny"
FAST = ["--time-limit", "2", "--workers", "1"]


@dataclass(frozen=True)
class World:
    root: Path
    data: Path  # the data folder (a copy of tests/data/tiny)
    run: Path  # a solved run of it
    run_b: Path  # another copy of that run
    scenarios: Path  # holds baseline.toml
    work: Path  # the command's working folder
    home: Path  # $HOME
    out: Path  # a destination that does not exist yet

    @property
    def scenario(self) -> Path:
        return self.scenarios / "baseline.toml"


def solve_tiny(folder: Path) -> Path:
    """A solved run of the tiny data (2 s, one worker)."""
    from transport.jobs import solve_job
    from transport.scenario import RoutingSettings, Scenario

    solve_job(TINY, folder, scenario=Scenario(routing=RoutingSettings(time_limit_s=2, workers=1)))
    return folder


def make_world(root: Path, solved: Path) -> World:
    """Lay a world out under ``root`` (``solved``: a run of the tiny data to copy)."""
    inputs = root / "inputs"
    world = World(
        root=root,
        data=inputs / "data",
        run=inputs / "runs" / "a",
        run_b=inputs / "runs" / "b",
        scenarios=root / "scenarios",
        work=root / "work",
        home=root / "home",
        out=root / "out",
    )
    shutil.copytree(TINY, world.data)
    shutil.copytree(solved, world.run)
    shutil.copytree(solved, world.run_b)
    world.scenarios.mkdir()
    world.scenario.write_text('name = "baseline"\n', encoding="utf-8")
    world.work.mkdir()
    world.home.mkdir()
    return world


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file (bytes and mode), folder (mode) and link (target) under ``root``."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", stat.S_IMODE(info.st_mode))
            elif stat.S_ISREG(info.st_mode):
                mode = stat.S_IMODE(info.st_mode)
                data = path.read_bytes() if mode & 0o400 else b"<unreadable>"
                out[rel] = ("file", data, mode)
            else:
                out[rel] = ("other",)
    return out


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """Paths added, removed or changed between two snapshots."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def invoke(args: list[str], **kwargs) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def _pupil_patterns(data_dir: Path) -> list[re.Pattern[str]]:
    data = read_dataset(data_dir)
    pats = [re.compile(rf"(?<![\w]){re.escape(p.pupil_id)}(?!\w)") for p in data.pupils]
    for p in data.pupils:
        for value, least in ((p.lat, 2), (p.lon, 3)):  # 0.88 alone is too common a number
            for dp in range(least, 7):
                pats.append(re.compile(rf"(?<![\d.]){re.escape(f'{value:.{dp}f}')}(?!\d)"))
    return pats


PRIVATE = _pupil_patterns(TINY)
"""Every pupil id and home coordinate (2 to 6 decimals) of the tiny data."""


def private_hits(text: str) -> list[str]:
    """Pupil ids or home coordinates of the tiny data found in ``text``."""
    return sorted({m.group(0) for pat in PRIVATE for m in pat.finditer(text)})


def assert_refused(result: Result, status: int, *messages: str) -> None:
    """Exit ``status`` with one ``Error:`` message holding every one of ``messages``, no
    traceback, no unexpected exception and no pupil id or home coordinate."""
    output = result.output
    assert result.exit_code == status, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in output
    assert "Error" in output, output
    assert not output.startswith("Error: invalid value:"), "a ValueError, not a domain error"
    flat = " ".join(output.split()).lower()
    for message in messages:
        assert " ".join(message.split()).lower() in flat, (message, output)
    assert private_hits(output) == [], output


def leftovers(root: Path) -> list[str]:
    """Temporary folders, staging folders and lock files anywhere under ``root``."""
    tags = (".tmp-", ".stage-", ".old-", ".sen-transport.lock")
    return sorted(
        str(p.relative_to(root)) for p in root.rglob(".*") if any(t in p.name for t in tags)
    )
