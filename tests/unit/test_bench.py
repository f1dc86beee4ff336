"""The bench's own bookkeeping (no measurement runs here: ``make bench`` does that)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from bench import cost, fleet, operations, waiting
from bench.__main__ import rows
from bench.callsite import Site, site_of
from bench.common import COST_MODES, MODES
from redis_rotation.polling import Backoff
from redis_rotation.redis_check import Level, Proof, RedisTarget, RedisTimeouts
from redis_rotation.secret import RedisSecret

pytestmark = pytest.mark.unit


def as_calls(needed: list[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    return [{"step": s, "kind": k, "name": c} for s, k, c, _ in needed]


def test_aws_single_user_template_makes_fourteen_secrets_manager_calls() -> None:
    assert sum(len(calls) for calls in cost.AWS_TEMPLATE.values()) == 14


@pytest.mark.parametrize("mode", COST_MODES)
def test_a_rotation_making_only_the_needed_calls_has_no_surplus(mode: str) -> None:
    calls = as_calls(cost.needed_calls(mode))
    analysis = cost.analyse_calls(mode, calls)
    assert analysis["surplus"] == []
    assert analysis["missing"] == []
    template = cost.compare_with_template(calls)
    assert template["all_explained"]
    # 14 of AWS's template, less 5 its steps read again (a warm handler keeps what an earlier
    # step read or wrote: SHORT_OF_TEMPLATE), plus the keys and binding (BEYOND_TEMPLATE).
    assert template["ours"] == 10
    assert all(short["why"] for short in template["short_of_template"])


def test_an_extra_call_is_surplus_and_an_unknown_extra_read_is_unexplained() -> None:
    calls = as_calls(cost.needed_calls("uredis"))
    calls.append({"step": "testSecret", "kind": "secretsmanager", "name": "GetSecretValue X"})
    assert [s["call"] for s in cost.analyse_calls("uredis", calls)["surplus"]] == [
        "GetSecretValue X"
    ]
    assert not cost.compare_with_template(calls)["all_explained"]


@pytest.mark.parametrize("mode", ["elasticache-user", "alibaba-account"])
def test_a_status_asked_again_is_waiting_but_a_describe_beyond_need_is_surplus(mode: str) -> None:
    """A provider that still reports the change in flight is asked again (polls); a call no
    step needs, such as asking for addresses the grant already allows, is a surplus."""
    calls = as_calls(cost.needed_calls(mode))
    (status, _), *_ = cost._STATUS[mode]
    calls += [{"step": "setSecret", "kind": "provider", "name": status}] * 2
    calls.append({"step": "setSecret", "kind": "provider", "name": "DescribeDBInstanceNetInfo"})
    analysis = cost.analyse_calls(mode, calls)
    assert analysis["polls"] == [
        {"step": "setSecret", "kind": "provider", "call": status, "count": 2}
    ]
    assert [s["call"] for s in analysis["surplus"]] == ["DescribeDBInstanceNetInfo"]


def test_a_proof_of_every_node_counts_each_node() -> None:
    """testSecret proves each node of the bench's ElastiCache group (a primary, a replica);
    finishSecret the primary at once, then each node again."""
    needed = cost.needed_calls("elasticache-token")
    assert redis_calls(needed, "testSecret") == ["AUTH", "AUTH", "PING"] * 2
    assert redis_calls(needed, "finishSecret") == ["AUTH", "AUTH", "PING"] * 3


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
    # No alternating or dual-password run: those targets are not met ("not run"), never
    # silently passed.
    assert [t.met for t in judge(runs)] == [True, True, True, False, False, False]
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


def test_the_dual_password_and_alternating_modes_are_held_to_zero_failures_for_every_client() -> (
    None
):
    from bench.disruption import DISRUPTION_MODES, judge

    def figures(failed: int) -> dict[str, object]:
        return {
            "failed": failed,
            "failed_dropped": 0,
            "sm_calls_during": 0,
            "p99_before_ms": 1.0,
            "p99_during_ms": 1.0,
        }

    def kinds(naive: int) -> dict[str, object]:
        return {"naive": figures(naive), "caching": figures(0), "ours": figures(0)}

    def verdict(mode: str, naive: int) -> list[tuple[str, str, bool]]:
        run = {"mode": mode, "on_change": "keep", "kinds": kinds(naive)}
        return [(t.name, t.value, t.met) for t in judge([run]) if "every client" in t.name]

    for mode in ("elasticache-user", "elasticache-token"):
        assert mode in DISRUPTION_MODES
        assert next(v for v in verdict(mode, 1) if "dual passwords" in v[0])[1:] == ("1", False)
        assert next(v for v in verdict(mode, 0) if "dual passwords" in v[0])[1:] == ("0", True)
    for mode in ("alibaba-alternating", "alibaba-cluster-alternating"):
        assert mode in DISRUPTION_MODES
        assert next(v for v in verdict(mode, 2) if "alternating" in v[0])[1:] == ("2", False)
    # A single-password mode counts towards neither: its naive client is expected to fail.
    assert all(value == "not run" for _, value, _ in verdict("alibaba-account", 3))


def test_elasticache_modes_run_with_connections_kept_only() -> None:
    from bench.disruption import behaviours

    # ElastiCache maintains existing connections through a password change.
    assert behaviours("elasticache-user", ("keep", "drop")) == ("keep",)
    assert behaviours("alibaba-alternating", ("keep", "drop")) == ("keep", "drop")
    assert behaviours("elasticache-token", ("drop",)) == ()


def test_the_benchmarks_plain_clients_log_in_as_each_provider_documents() -> None:
    from bench.disruption_client import credentials

    assert credentials({"password": "p"}) == ("p",)
    assert credentials({"provider": "tencent", "account": "a", "password": "p"}) == ("a@p",)
    assert credentials({"provider": "alibaba", "account": "a", "password": "p"}) == ("a:p",)
    assert credentials({"provider": "elasticache", "username": "u", "password": "p"}) == (
        "u",
        "p",
    )


def redis_calls(needed: list[tuple[str, str, str, str]], step: str) -> list[str]:
    return [call for s, kind, call, _ in needed if s == step and kind == "redis"]


@pytest.mark.parametrize("mode", ["uredis", "tencent-2.0", "tencent-3.0-modify"])
def test_a_full_proof_counts_its_wrong_password_auth(mode: str) -> None:
    """testSecret's and finishSecret's proofs also send a random wrong password and no
    password; the needed calls count both, each with its own reason."""
    needed = cost.needed_calls(mode)
    for step, proofs in (("testSecret", 1), ("finishSecret", 2)):
        assert redis_calls(needed, step) == ["AUTH", "AUTH", "PING"] * proofs
        reasons = [why for s, kind, _, why in needed if s == step and kind == "redis"]
        assert "wrong password is refused" in reasons[1]
        assert "without a password is refused" in reasons[2]


def test_a_proofs_calls_are_the_layers_own() -> None:
    """Read off redis_check.Proof, not written down: a refused own password ends the proof."""
    assert [c for c, _ in cost.proof_calls(Level.FULL)] == ["AUTH", "AUTH", "PING"]
    assert [c for c, _ in cost.proof_calls(Level.AUTH)] == ["AUTH"]
    assert [c for c, _ in cost.proof_calls(Level.FULL, accepted=False)] == ["AUTH"]


ROOT = Path(__file__).parents[2]


def strings(value: object) -> list[str]:
    """Every string inside ``value``'s lists, tuples and dicts (keys too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return strings(list(value.items()))
    if isinstance(value, list | tuple):
        return [text for item in value for text in strings(item)]
    return []


def tables_of(module: Path) -> list[str]:
    """The names a module assigns at its top level (its own tables, not what it imports)."""
    names: list[str] = []
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        targets += [node.target] if isinstance(node, ast.AnnAssign) else []
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def test_no_reason_names_code_the_layer_does_not_have() -> None:
    """A reason that names code (``Class.method``, ``snake_case``) names code the layer has,
    or bench.cost's own tables: the reasons do not outlive a refactoring."""
    layer = ROOT / "layers" / "shared" / "redis_rotation"
    source = "\n".join(p.read_text(encoding="utf-8") for p in layer.rglob("*.py"))
    reasons = [why for mode in MODES for *_, why in cost.needed_calls(mode)]
    reasons += strings([getattr(cost, name) for name in tables_of(Path(cost.__file__))])
    named = {
        name
        for text in reasons
        for name in re.findall(r"[A-Za-z_][\w.]*_\w*|[A-Z]\w+\.\w+", text)
        if not name.startswith("docs")
    }
    assert named, "the reasons name no code at all: this test would check nothing"
    for name in sorted(named):
        assert all(part in source or hasattr(cost, part) for part in name.split(".")), name


def test_a_calls_site_and_reason_are_read_off_the_running_layer() -> None:
    """Each attempt of a real Proof, seen from inside the probe: the layer functions that
    made it, the source line, and the reason the innermost documented one gives."""
    seen: list[Site] = []

    class Probe:
        def ping(self, target: RedisTarget, username: str | None, password: str | None) -> bool:
            del target, username  # where and as whom do not matter here
            seen.append(site_of(None))
            return password == "right"

    version = RedisSecret("t", {"provider": "uredis", "host": "h", "port": 1, "password": "right"})
    assert Proof(RedisTimeouts(), Probe()).proves(version, Level.FULL)
    own, wrong, anonymous = seen
    assert own.chain.startswith("redis_check.Proof.proves > ")
    assert wrong.chain == anonymous.chain
    assert own.chain.startswith(wrong.chain)  # the own AUTH is also logged, through a lambda
    assert "wrong" in wrong.line
    assert "None, None" in anonymous.line
    assert own.why.startswith("Whether ")  # a docstring of redis_check, whichever it is
    layer = Path(__file__).parents[2] / "layers/shared/redis_rotation/redis_check.py"
    assert own.why in " ".join(layer.read_text(encoding="utf-8").split())


def schedule(draw: float, seconds: float = 1.0) -> list[float]:
    """When a poll with the layer's default backoff asks, over ``seconds``, if every jitter
    draw is ``draw``."""
    times, now = [0.0], 0.0
    for delay in Backoff().delays(lambda: draw):
        now += delay
        if now >= seconds:
            return times
        times.append(now)
    raise AssertionError("unreachable: delays never end")


def test_reserved_concurrency_takes_the_densest_polls_not_one_draw() -> None:
    """0.2.0's miss: one rotation's draw put 5 polls in a second, the schedule allows 6;
    at 20 per second that is C = 4 where 3 is safe."""
    assert operations.peak_per_second(schedule(1.0)) == 5
    densest = schedule(operations.DENSEST.random())
    assert operations.peak_per_second(densest) == 6
    limits = {"DescribeTaskInfo": 20}
    assert operations.reserved_concurrency(1000, {"DescribeTaskInfo": 5}, limits.__getitem__) == 4
    assert operations.reserved_concurrency(1000, {"DescribeTaskInfo": 6}, limits.__getitem__) == 3


def test_the_provider_bound_counts_every_action_without_refused_requests() -> None:
    per_action = {
        "DescribeInstances": {"outcomes": {"ok": 600, "RequestLimitExceeded": 7}, "throttled": 7},
        "ModifyInstancePassword": {"outcomes": {"ok": 200}, "throttled": 0},
    }
    assert fleet.provider_bound(per_action, 200, 20) == {
        "DescribeInstances": {"requests_per_rotation": 3.0, "seconds_at_limit": 30.0},
        "ModifyInstancePassword": {"requests_per_rotation": 1.0, "seconds_at_limit": 10.0},
    }
