"""The package's layering (DESIGN.md): lie/ imports nothing else from the package, datasets
never import models or methods, and only the CLI imports the experiments."""
import ast
import json
from pathlib import Path

import pytest

import symdisco

ROOT = Path(symdisco.__file__).parent


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Absolute names of the symdisco modules a file imports (relative imports resolved)."""
    package = ".".join(("symdisco",) + path.relative_to(ROOT).parent.parts)
    names = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "symdisco" or name.startswith("symdisco.")}


def files(under: str = ""):
    return sorted((ROOT / under).rglob("*.py"))


def test_only_the_cli_imports_the_experiments():
    offenders = [str(p.relative_to(ROOT)) for p in files()
                 if p.name != "cli.py" and "experiments" not in p.relative_to(ROOT).parts
                 and any(m.startswith("symdisco.experiments") for m in imported_modules(p))]
    assert offenders == []


def test_datasets_import_neither_models_nor_methods():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p)
                                                  if m.startswith(("symdisco.models", "symdisco.methods")))
                 for p in files("datasets")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_lie_imports_nothing_else_from_the_package():
    """Only the leaf `symdisco.errors` (which imports nothing) may be used from outside lie/."""
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p)
                                                  if not m.startswith(("symdisco.lie", "symdisco.errors"))
                                                  and m != "symdisco")
                 for p in files("lie")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checker_sees_a_forbidden_import():
    source = "from ..models.lconv import LConv\nimport symdisco.experiments.digits\nfrom . import base\n"
    found = imported_modules(ROOT / "datasets" / "probe.py", source)
    assert {"symdisco.models.lconv", "symdisco.experiments.digits", "symdisco.datasets.base"} <= found


def test_rotated_digits_is_a_downstream_experiment(tmp_path):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from symdisco.cli import main

    out = tmp_path / "digits"
    assert main(["downstream", "rotated-digits", "--out", str(out), "--epochs", "1", "--quiet",
                 "-D", "n_train=64", "-D", "size=8", "-D", "digit_size=6", "-D", "channels=2"]) == 0
    rows = json.loads((out / "table.json").read_text())
    assert {(r["model"], r["metric"]) for r in rows} == {
        (m, k) for m in ("L-conv", "CNN", "MLP") for k in ("accuracy", "accuracy_scrambled")}
    assert all(0.0 <= r["value"] <= 1.0 for r in rows)
    assert json.loads((out / "details.json").read_text())["n_train"] == 64


def test_lie_modules_import_without_cycles():
    """Within lie/, imports (module level or inside functions) form no cycle: identify.py
    uses the pure functions, and LieAlgebra wraps identify, not the other way round."""
    graph = {p.stem: {m.split(".")[2] for m in imported_modules(p)
                      if m.startswith("symdisco.lie.") and m.split(".")[2] != p.stem
                      and (ROOT / "lie" / f"{m.split('.')[2]}.py").exists()}
             for p in files("lie") if p.stem != "__init__"}
    assert "algebra" not in graph["identify"]
    done, active = set(), []

    def visit(node):
        assert node not in active, f"import cycle: {' -> '.join(active + [node])}"
        if node in done:
            return
        active.append(node)
        for child in graph.get(node, ()):
            visit(child)
        active.pop()
        done.add(node)

    for node in graph:
        visit(node)
