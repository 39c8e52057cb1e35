"""The package's layout rules, read from the source: no import circle inside a package, and
data flows one way (``io -> embed -> select -> metrics -> report``; ``train``, ``evaluate``,
``experiment``, ``theory``, ``distributed``, the flows, the pipeline and the CLI build on
those, never the reverse). Imports inside functions and ``TYPE_CHECKING`` blocks count."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "unisel"

STAGES = ("io", "embed", "select", "metrics", "report")
BUILT_ON_THEM = (
    "train",
    "evaluate",
    "experiment",
    "theory",
    "distributed",
    "flows",
    "pipeline",
    "cli",
    "warm",
)


def _module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = SRC) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names; ``from a import b`` counts as
    ``a`` and ``a.b`` (``b`` may be a submodule)."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([module] if module else [])])
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def import_circle(package: Path, root: Path = SRC) -> list[str] | None:
    """A circle of imports among the modules of ``package`` (a folder), or None."""
    modules = {_module_name(f, root): f for f in package.glob("*.py") if f.name != "__init__.py"}
    graph = {
        m: {t for t in _imports(f, root) if t in modules and t != m} for m, f in modules.items()
    }
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as err:
        return list(err.args[1])
    return None


def _packages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py"))


@pytest.mark.parametrize("package", _packages(), ids=lambda p: _module_name(p / "__init__.py"))
def test_no_import_circle_inside_a_package(package):
    assert import_circle(package) is None


def test_a_circle_is_found(tmp_path):
    # the check itself, on a package whose two modules import each other (one of them only
    # inside a function, as the circles this test guards against did)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import f\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    assert sorted(set(import_circle(pkg, tmp_path) or [])) == ["pkg.a", "pkg.b"]
    (pkg / "b.py").write_text("def f():\n    pass\n")
    assert import_circle(pkg, tmp_path) is None


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_never_imports_a_later_one(stage):
    later = (*STAGES[STAGES.index(stage) + 1 :], *BUILT_ON_THEM)
    where = PACKAGE / stage
    files = sorted(where.rglob("*.py")) if where.is_dir() else [where.with_suffix(".py")]
    wrong = sorted(
        f"{f.relative_to(SRC)} imports {target}"
        for f in files
        for target in _imports(f)
        if any(target == f"unisel.{s}" or target.startswith(f"unisel.{s}.") for s in later)
    )
    assert not wrong, "\n".join(wrong)
