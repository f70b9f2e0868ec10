"""README's command table is the command line's: every command listed, each with an example."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from transport.cli.main import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def table_commands() -> list[str]:
    """The commands of README's "## Commands" table, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `sen-transport ([a-z-]+)", section, flags=re.MULTILINE)


def leaf_commands() -> list[tuple[str, ...]]:
    """Every command to run, as its words (``("graph", "build")`` for a group's command)."""
    out = []
    for name, command in sorted(cli.commands.items()):
        if isinstance(command, click.Group):
            out += [(name, sub) for sub in sorted(command.commands)]
        else:
            out.append((name,))
    return out


def test_readme_table_lists_exactly_the_commands():
    listed = table_commands()
    assert len(listed) == len(set(listed)), f"a command is listed twice: {listed}"
    assert set(listed) == set(cli.commands)


@pytest.mark.parametrize("words", leaf_commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(words):
    result = CliRunner().invoke(cli, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    example = result.output.split("Example:", 1)[1]
    assert f"sen-transport {' '.join(words)}" in example, f"the example does not run {words}"


def test_groups_have_help():
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            result = CliRunner().invoke(cli, [name, "--help"])
            assert result.exit_code == 0 and "Commands:" in result.output
