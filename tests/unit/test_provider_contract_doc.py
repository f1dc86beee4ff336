"""docs/architecture.md's "Adding a provider" lists exactly the Provider protocol's
members, with their parameters: a provider written from the page satisfies the engine."""

from __future__ import annotations

import inspect
import re

import pytest

from redis_rotation.providers.base import Provider
from tests.support.docs import sections
from tests.support.tools import ROOT

pytestmark = pytest.mark.unit

_ROW = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)


def documented() -> dict[str, tuple[str, ...] | None]:
    """Each member the page's table names: a method's parameters, or None for an attribute."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    found: dict[str, tuple[str, ...] | None] = {}
    for cell in _ROW.findall(sections(text)["Adding a provider"]):
        name, paren, rest = cell.partition("(")
        found[name] = tuple(p.strip() for p in rest.rstrip(")").split(",")) if paren else None
    return found


def protocol() -> dict[str, tuple[str, ...] | None]:
    members: dict[str, tuple[str, ...] | None] = dict.fromkeys(Provider.__annotations__)
    for name, member in vars(Provider).items():
        if inspect.isfunction(member) and not name.startswith("_"):
            parameters = list(inspect.signature(member).parameters)[1:]  # without self
            members[name] = tuple(parameters)
    return members


def test_the_page_lists_exactly_the_protocols_members() -> None:
    assert documented() == protocol()


def test_the_protocol_reading_is_not_empty() -> None:
    # The check above cannot pass by reading nothing on both sides.
    assert {"inspect", "change_password", "credentials_schema"} <= set(protocol())
