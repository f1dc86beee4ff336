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


def registries() -> dict[str, set[str]]:
    """The providers each list the page names holds (a provider missing from one is a
    provider half added: the bench, the demo or the crash proof silently skip it)."""
    import tomllib

    from bench.common import COST_MODES
    from localcloud.cli import EXAMPLES
    from localcloud.cloud import FUNCTION_NAMES
    from redis_rotation import entrypoint, secret
    from tests.support import cloudformation, crash, sam_build

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [
        c
        for c in pyproject["tool"]["importlinter"]["contracts"]
        if c["id"] == "providers-independent"
    ]
    layer = contract["layers"][0]
    return {
        "entrypoint.STACK_FUNCTIONS": set(entrypoint.STACK_FUNCTIONS),
        "secret.PROVIDERS": set(secret.PROVIDERS),
        "providers-independent": {n.strip(" ()") for n in layer.split("|")},
        "FUNCTION_NAMES": set(FUNCTION_NAMES),
        "EXAMPLES": {f.__name__.strip("_").removesuffix("_examples") for f in EXAMPLES},
        "crash MODES": {provider for _, provider, _ in crash.MODES},
        "bench COST_MODES": {provider for provider, _ in COST_MODES.values()},
        "sam_build FUNCTIONS": set(sam_build.FUNCTIONS),
        "cloudformation FUNCTIONS": set(cloudformation.FUNCTIONS.values()),
        "functions/": {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()},
        "events/": {p.name for p in (ROOT / "events").iterdir() if p.is_dir()},
        "emulators/": {
            p.name
            for p in (ROOT / "localcloud" / "emulators").iterdir()
            if p.is_dir() and not p.name.startswith("_")
        },
    }


def test_every_list_the_page_names_holds_every_provider() -> None:
    from redis_rotation.entrypoint import PROVIDERS

    found = registries()
    assert len(found) == 12  # each list was read
    assert {name: names for name, names in found.items() if names != set(PROVIDERS)} == {}
