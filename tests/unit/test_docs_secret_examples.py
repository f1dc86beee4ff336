"""Every rotated secret the docs show as JSON is one the function accepts: a user who
copies it has only the values to fill in."""

from __future__ import annotations

import json
import re

import pytest

from redis_rotation.secret import parse_secret
from tests.support.tools import ROOT

pytestmark = pytest.mark.unit

_JSON = re.compile(r"^```json\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, str]]:
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in _JSON.findall(page.read_text(encoding="utf-8")):
            document = json.loads(block)
            if isinstance(document, dict) and "provider" in document:
                found.append((page.name, block))
    return found


def test_the_docs_show_a_secret_of_each_new_provider() -> None:
    shown = {json.loads(block)["provider"] for _, block in examples()}
    assert {"elasticache", "alibaba"} <= shown


def test_every_secret_the_docs_show_parses() -> None:
    for page, block in examples():
        assert parse_secret(block, page).provider == json.loads(block)["provider"], page
