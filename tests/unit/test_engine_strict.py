"""finishSecret's drop of the replaced password (one password at rest, ElastiCache's
``strict``), on the engine's fakes: after the promotion, on a retry, and never twice."""

from __future__ import annotations

import pytest

from tests.unit.test_engine import NEW_PASSWORD, SECRET, TOKEN, World, world

pytestmark = pytest.mark.unit
__all__ = ["world"]  # the fixture, imported for these tests


def test_strict_drops_the_replaced_password_after_the_promotion(world: World) -> None:
    world.provider.strict = True
    world.with_pending()
    assert world.run("setSecret") == "changed"
    assert world.redis.kept == {SECRET["password"]}  # both work during the rotation
    assert world.run("testSecret") == "tested"
    assert world.provider.count("drop") == 0
    assert world.run("finishSecret") == "finished"
    assert world.sm.stages_of(TOKEN) == ["AWSPENDING", "AWSCURRENT"]
    assert world.provider.count("drop") == 1
    assert world.redis.kept == set()
    assert world.redis.password == NEW_PASSWORD


def test_strict_retry_of_finish_drops_what_a_crash_left_and_nothing_twice(world: World) -> None:
    world.provider.strict = True
    world.with_pending()
    world.run("setSecret")
    # The promotion landed, then the function stopped before the drop.
    world.sm.versions["v-current"]["stages"] = ["AWSPREVIOUS"]
    world.sm.versions["v-previous"]["stages"] = []
    world.sm.versions[TOKEN]["stages"] = ["AWSPENDING", "AWSCURRENT"]
    assert world.run("finishSecret") == "already-current"
    assert (world.provider.count("drop"), world.redis.kept) == (1, set())
    # Retried again: the replaced password is already refused, so nothing is asked.
    assert world.run("finishSecret") == "already-current"
    assert world.provider.count("drop") == 1


def test_without_strict_the_replaced_password_stays(world: World) -> None:
    world.with_pending()
    world.redis.password = NEW_PASSWORD
    world.redis.kept = {SECRET["password"]}
    assert world.run("finishSecret") == "finished"
    assert world.provider.count("drop") == 0
    assert world.redis.kept == {SECRET["password"]}


def test_a_crafted_awsprevious_lends_only_its_password_to_the_drop(world: World) -> None:
    """A writer labels a version AWSPREVIOUS that names their own host: finishSecret's retry
    asks about its password on AWSCURRENT's endpoint only, and drops nothing it invents."""
    world.provider.strict = True
    world.with_pending()
    world.run("setSecret")
    world.sm.versions["v-current"]["stages"] = []
    world.sm.versions["v-previous"]["stages"] = []
    world.sm.versions[TOKEN]["stages"] = ["AWSPENDING", "AWSCURRENT"]
    crafted = {**SECRET, "host": "attacker.example", "password": "writer-chose-this"}
    world.sm.add_version("v-crafted", ["AWSPREVIOUS"], crafted)
    world.redis.asked.clear()
    assert world.run("finishSecret") == "already-current"
    assert world.redis.asked  # the retry did ask, on AWSCURRENT's endpoint
    assert not any("attacker.example" in endpoint for endpoint in world.redis.asked)
    assert world.provider.count("drop") == 0  # its password never worked: nothing to drop
