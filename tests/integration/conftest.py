"""Fixtures shared by the integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cloudformation import render, sam_template


@pytest.fixture(scope="session")
def rendered() -> dict[str, Any]:
    """template.yaml as the SAM transform renders it; read only, so rendered once."""
    return render(sam_template())
