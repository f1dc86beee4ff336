"""The bench's own bookkeeping (no measurement runs here: ``make bench`` does that)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost, waiting
from bench.__main__ import rows

pytestmark = pytest.mark.unit


def as_calls(needed: list[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    return [{"step": s, "kind": k, "name": c} for s, k, c, _ in needed]


def test_aws_single_user_template_makes_fourteen_secrets_manager_calls() -> None:
    assert sum(len(calls) for calls in cost.AWS_TEMPLATE.values()) == 14


@pytest.mark.parametrize("mode", ["uredis", "tencent-2.0", "tencent-3.0-modify"])
def test_a_rotation_making_only_the_needed_calls_has_no_surplus(mode: str) -> None:
    calls = as_calls(cost.needed_calls(mode))
    analysis = cost.analyse_calls(mode, calls)
    assert analysis["surplus"] == []
    assert analysis["missing"] == []
    template = cost.compare_with_template(calls)
    assert template["all_explained"]
    assert template["ours"] == 19  # 13, and the binding (3) and edits (3): BEYOND_TEMPLATE


def test_an_extra_call_is_surplus_and_an_unknown_extra_read_is_unexplained() -> None:
    calls = as_calls(cost.needed_calls("uredis"))
    calls.append({"step": "testSecret", "kind": "secretsmanager", "name": "GetSecretValue X"})
    assert [s["call"] for s in cost.analyse_calls("uredis", calls)["surplus"]] == [
        "GetSecretValue X"
    ]
    assert not cost.compare_with_template(calls)["all_explained"]


def test_the_waiting_allowance_is_a_fifth_of_the_duration_plus_a_second() -> None:
    assert waiting.allowed_lag(0.0) == 1.0
    assert waiting.allowed_lag(10.0) == 3.0


def test_table_rows_say_whether_each_target_is_met() -> None:
    measurement = {
        "name": "size",
        "targets": [{"name": "layer", "goal": "< 5 MB", "value": "2 MB", "met": True}],
    }
    assert rows([measurement]) == [("size", "layer", "< 5 MB", "2 MB", "yes")]


def test_disruption_percentiles_are_nearest_rank_and_stalls_count_only_successes() -> None:
    from bench.disruption import longest_stall, percentile
    from bench.load import AUTH, Sample

    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0
    samples = [Sample(0.0, 0.1), Sample(1.0, 3.0, AUTH), Sample(2.0, 0.5)]
    # Successes end at 0.1 and 2.5; the refused command in between is a stall, not progress.
    assert longest_stall(samples, 0.0, 3.0) == 2.4


def test_a_client_has_recovered_when_every_threads_last_command_succeeded() -> None:
    from bench.disruption import recovered
    from bench.load import AUTH, Sample

    one_stuck = [Sample(0.0, 0.1, None, 0), Sample(0.1, 0.1, AUTH, 1), Sample(0.5, 0.1, None, 0)]
    assert not recovered(one_stuck)
    assert recovered([*one_stuck, Sample(0.6, 0.1, None, 1)])


def test_disruption_targets_count_only_failures_not_in_flight_against_ours() -> None:
    from bench.disruption import judge

    def figures(failed: int, dropped: int, calls: int, p99: float) -> dict[str, object]:
        return {
            "failed": failed,
            "failed_dropped": dropped,
            "sm_calls_during": calls,
            "p99_before_ms": 1.0,
            "p99_during_ms": p99,
        }

    runs: list[dict[str, Any]] = [
        {"mode": "uredis", "on_change": "keep", "kinds": {"ours": figures(0, 0, 2, 1.5)}},
        {"mode": "uredis", "on_change": "drop", "kinds": {"ours": figures(2, 2, 1, 2.5)}},
    ]
    # No alternating run: that target is not met ("not run"), never silently passed.
    assert [t.met for t in judge(runs)] == [True, True, True, False, False]
    alternating = {"naive": figures(0, 0, 0, 1.0), "ours": figures(0, 0, 0, 1.0)}
    runs.append({"mode": "tencent-3.0-alternating", "on_change": "drop", "kinds": alternating})
    assert judge(runs)[4].met
    alternating["naive"] = figures(1, 0, 0, 1.0)
    assert (judge(runs)[4].value, judge(runs)[4].met) == ("1", False)
    runs.pop()
    runs[1]["kinds"] = {"ours": figures(3, 2, 3, 1.0)}
    assert [(t.value, t.met) for t in judge(runs)][1:3] == [
        ("3 (1 not in flight)", False),
        ("3", False),
    ]
