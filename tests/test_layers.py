"""The one-way import rule: no module imports a later layer; only routing imports a solver.

Every ``import`` statement of every module of ``transport/`` (those inside functions and under
``TYPE_CHECKING`` included) is read with :mod:`ast` and checked against
:data:`transport.layers.LAYERS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from transport.layers import LAYER_NAMES, ROUTING_SOLVERS, layer_of, rank

ROOT = Path(__file__).resolve().parents[1] / "transport"


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of everything the module imports, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # ``from transport.travel import network`` imports a module too
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names if a.name != "*"]
    return found


def _target(name: str, known: dict[str, Path]) -> str | None:
    """The engine module an imported name belongs to (None outside the engine)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def test_every_module_has_a_layer():
    missing = [m for m in modules() if layer_of(m) is None]
    assert not missing, f"add these to transport/layers.py LAYERS: {missing}"


def test_no_module_imports_a_later_layer():
    known = modules()
    wrong = []
    for module, path in known.items():
        own = layer_of(module)
        assert own is not None
        for line, name in imports(module, path):
            if not name.startswith("transport"):
                continue
            target = _target(name, known)
            if target is None:
                continue
            theirs = layer_of(target)
            assert theirs is not None
            if rank(theirs) > rank(own):
                wrong.append(
                    f"{path.relative_to(ROOT.parent)}:{line} ({own}) imports {target} ({theirs})"
                )
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_only_routing_imports_a_routing_solver():
    wrong = []
    for module, path in modules().items():
        for line, name in imports(module, path):
            solver = any(name == s or name.startswith(s + ".") for s in ROUTING_SOLVERS)
            if solver and layer_of(module) != "routing":
                wrong.append(f"{path.relative_to(ROOT.parent)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("transport.model", "base"),
        ("transport.runs.atomic", "base"),
        ("transport.data.validate", "data"),
        ("transport.travel._osm", "travel"),
        ("transport.runs.write", "runs"),
        ("transport.pipeline.run", "pipeline"),
        ("transport.cli.main", "cli"),
        ("transport.__main__", "cli"),
        ("elsewhere", None),
    ],
)
def test_layer_of(module, layer):
    assert layer_of(module) == layer


def test_the_checker_catches_a_later_import(tmp_path):
    """A stage importing a later one is found (the test above is not vacuous)."""
    bad = tmp_path / "transport" / "placement" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from transport.routing import plan_routes\nfrom ..budgets import x\n")
    found = [name for _, name in imports("transport.placement.bad", bad)]
    assert "transport.routing" in found and "transport.budgets.x" in found
    assert rank(layer_of("transport.routing")) > rank(layer_of("transport.placement.bad"))
    assert LAYER_NAMES[0] == "base" and LAYER_NAMES[-1] == "cli"
