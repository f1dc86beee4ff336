"""repair's decision from the evidence: each row of docs/operations.md's table."""

from __future__ import annotations

from typing import Any

import pytest

from redis_rotation.secret import RedisSecret
from rotation_cli.repair import Evidence, Move, Refused, Version, decide

pytestmark = pytest.mark.unit

BASE: dict[str, Any] = {
    "provider": "uredis",
    "host": "10.0.0.5",
    "port": 6379,
    "region": "cn-bj2",
    "groupId": "uredis-1",
    "credentialsSecretId": "keys",
}


def value(password: str, **fields: Any) -> RedisSecret:
    return RedisSecret("secret x", {**BASE, "password": password, **fields})


def evidence(
    accepted: tuple[str, ...],
    *,
    pending: Version | None = None,
    previous: Version | None = None,
    unsettled: str | None = None,
) -> Evidence:
    labelled = {"AWSCURRENT": Version("v-current", value("current"))}
    if pending:
        labelled["AWSPENDING"] = pending
    if previous:
        labelled["AWSPREVIOUS"] = previous
    return Evidence("arn:x", labelled, accepted, ("10.0.0.5:6379",), unsettled)


PENDING = Version("v-pending", value("pending"))
PREVIOUS = Version("v-previous", value("previous"))


def test_nothing_to_repair() -> None:
    plan = decide(evidence(("AWSCURRENT",), previous=PREVIOUS))
    assert (plan.finding.split(":")[0], plan.moves) == ("ok", ())


def test_a_change_that_never_landed_loses_its_pending_label() -> None:
    plan = decide(evidence(("AWSCURRENT",), pending=PENDING))
    assert plan.moves == (Move("AWSPENDING", None, "v-pending"),)


def test_an_empty_pending_stub_is_removed_too() -> None:
    plan = decide(evidence(("AWSCURRENT",), pending=Version("v-stub", None)))
    assert plan.moves == (Move("AWSPENDING", None, "v-stub"),)


def test_a_change_that_may_still_land_is_waited_for() -> None:
    with pytest.raises(Refused, match="busy"):
        decide(evidence(("AWSCURRENT",), pending=PENDING, unsettled="busy"))


def test_a_landed_change_is_promoted_then_its_pending_label_removed() -> None:
    plan = decide(evidence(("AWSPENDING",), pending=PENDING, previous=PREVIOUS))
    assert plan.moves == (
        Move("AWSCURRENT", "v-pending", "v-current"),
        Move("AWSPENDING", None, "v-pending"),
    )


def test_a_landed_change_with_another_field_edited_is_refused() -> None:
    edited = Version("v-pending", value("pending", host="10.0.0.9"))
    with pytest.raises(Refused, match="field 'host' differs"):
        decide(evidence(("AWSPENDING",), pending=edited))


def test_drift_to_previous_moves_current_back() -> None:
    plan = decide(evidence(("AWSPREVIOUS",), pending=PENDING, previous=PREVIOUS))
    assert plan.moves == (
        Move("AWSCURRENT", "v-previous", "v-current"),
        Move("AWSPENDING", None, "v-pending"),
    )


def test_drift_to_a_previous_with_other_fields_is_refused() -> None:
    older = Version("v-previous", value("previous", port=6380))
    with pytest.raises(Refused, match="field 'port' differs"):
        decide(evidence(("AWSPREVIOUS",), previous=older))


def test_no_labelled_password_is_refused() -> None:
    with pytest.raises(Refused, match="accepts no labelled password"):
        decide(evidence((), pending=PENDING, previous=PREVIOUS))


ALTERNATING = {"strategy": "alternating", "accounts": ["app_a", "app_b"]}


def alternating_evidence(accepted: tuple[str, ...]) -> Evidence:
    current = Version("v-current", value("a-live", account="app_a", **ALTERNATING))
    pending = Version("v-pending", value("b-new", account="app_b", **ALTERNATING))
    previous = Version("v-previous", value("b-old", account="app_b", **ALTERNATING))
    labelled = {"AWSCURRENT": current, "AWSPENDING": pending, "AWSPREVIOUS": previous}
    return Evidence("arn:x", labelled, accepted, ("10.0.0.5:6379",))


def test_alternating_both_accounts_live_promotes_pending() -> None:
    """setSecret changed the other account: AWSCURRENT's account still works, and
    AWSPENDING holds the other account's only live password."""
    plan = decide(alternating_evidence(("AWSCURRENT", "AWSPENDING")))
    assert plan.moves == (
        Move("AWSCURRENT", "v-pending", "v-current"),
        Move("AWSPENDING", None, "v-pending"),
    )


def test_alternating_change_not_landed_keeps_previous_and_removes_pending() -> None:
    plan = decide(alternating_evidence(("AWSCURRENT", "AWSPREVIOUS")))
    assert plan.moves == (Move("AWSPENDING", None, "v-pending"),)
