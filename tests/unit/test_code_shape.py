"""The sizes issue 20 set, held by a test rather than by review: a module that outgrows
them is split, not waved through."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared" / "redis_rotation"


def _lines(path: Path) -> int:
    return len(path.read_text("utf-8").splitlines())


def test_the_engine_keeps_only_the_four_steps_and_the_change() -> None:
    assert _lines(LAYER / "engine.py") < 220


def test_no_layer_module_is_over_300_lines() -> None:
    over = {str(p.relative_to(LAYER)): _lines(p) for p in LAYER.rglob("*.py") if _lines(p) > 300}
    assert not over


def test_no_test_file_is_over_450_lines() -> None:
    tests = ROOT / "tests"
    over = {str(p.relative_to(tests)): _lines(p) for p in tests.rglob("*.py") if _lines(p) > 450}
    assert not over


def test_no_module_of_the_project_imports_itself_back() -> None:
    """No cycle at all, TYPE_CHECKING imports included (the import-linter contract checks
    siblings only; this is every pair, packages and their own submodules too)."""
    import grimp

    graph = grimp.build_graph(
        "redis_rotation", "rotation_cli", "localcloud", "bench", "redis_rotation_client", "tests"
    )
    cycles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.find_shortest_chain(importer=imported, imported=module)
    ]
    assert not cycles
