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
