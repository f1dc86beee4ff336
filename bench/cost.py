"""(2) Cost per rotation: our CPU time and our external calls, per provider mode, against
zero-latency emulators; the Secrets Manager calls compared with AWS's single-user template.

The local cloud runs in a process of its own (``bench.cloudproc``); the functions run in
``bench.worker``, whose process CPU clock is read around each handler invocation, so the
figure is the functions' CPU alone (signing, botocore, the engine, logging), not moto's
or the emulators'. Waits cost no CPU, and the emulators answer at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from bench.common import COST_MODES, CloudProcess, Measurement, Target, median, run_worker
from redis_rotation.redis_check import Level, Proof, RedisTarget, RedisTimeouts, Where
from redis_rotation.secret import RedisSecret

CPU_TARGET = 0.030  # seconds of our CPU per rotation (issue 20)
SM_TARGET = 13  # Secrets Manager calls per rotation: one fewer than AWS's template (issue 20)

Key = tuple[str, str, str]  # (step, kind, call)

# AWS's single-user template (SecretsManagerRDSMySQLRotationSingleUser/lambda_function.py),
# counted from its logic for one rotation that succeeds at the first try:
# lambda_handler describes the secret before every step; create_secret reads AWSCURRENT and
# AWSPENDING (not found), draws a password and puts it; set_secret reads AWSPREVIOUS,
# AWSCURRENT and AWSPENDING; test_secret reads AWSPENDING; finish_secret describes the
# secret again and moves the stage.
AWS_TEMPLATE: dict[str, list[str]] = {
    "createSecret": [
        "DescribeSecret",
        "GetSecretValue AWSCURRENT",
        "GetSecretValue AWSPENDING",
        "GetRandomPassword",
        "PutSecretValue",
    ],
    "setSecret": [
        "DescribeSecret",
        "GetSecretValue AWSPREVIOUS",
        "GetSecretValue AWSCURRENT",
        "GetSecretValue AWSPENDING",
    ],
    "testSecret": ["DescribeSecret", "GetSecretValue AWSPENDING"],
    "finishSecret": ["DescribeSecret", "DescribeSecret", "UpdateSecretVersionStage"],
}

# Why each Secrets Manager call of ours that AWS's template does not make is made, and why
# the ones it makes and we do not are not needed. One rotation whose four steps run in one
# warm process (as Secrets Manager's back-to-back invocations of one function usually do):
# the handler keeps each credentials secret and each version's value it read or wrote, for
# at most redis_rotation.warm.WARM_SECONDS (docs/security.md). A step in a fresh process
# reads what it uses again.
_WARM = (
    "read by an earlier step of this rotation in the same warm process: a version's value "
    "never changes, and the handler keeps it (redis_rotation.warm)"
)
BEYOND_TEMPLATE = {
    ("createSecret", "GetSecretValue credentials"): (
        "the provider's API keys and the keys' owner's binding (docs/security.md). They live "
        "in their own secret (credentialsSecretId) so the rotated secret never holds them; "
        "AWS's template needs none, it changes the password by logging in to the database "
        "with the secret itself. Every step checks the rotated secret against the binding; "
        "the warm handler keeps it for at most WARM_SECONDS (a revoked grant takes effect "
        "within that)."
    ),
}
SHORT_OF_TEMPLATE = {
    ("setSecret", "GetSecretValue AWSPREVIOUS"): (
        "read only when the instance refuses AWSCURRENT as the old password (the modify "
        "APIs), never on the normal path; URedis and ResetPassword need no old password"
    ),
    ("setSecret", "GetSecretValue AWSCURRENT"): _WARM,
    ("setSecret", "GetSecretValue AWSPENDING"): f"{_WARM} (createSecret put it)",
    ("testSecret", "GetSecretValue AWSPENDING"): f"{_WARM} (createSecret put it)",
    ("finishSecret", "DescribeSecret"): (
        "AWS's finishSecret describes the secret a second time; ours reuses the stages "
        "read by the step checks of the same invocation"
    ),
}

_SM_NEEDED: dict[str, list[tuple[str, str]]] = {
    "createSecret": [
        ("DescribeSecret", "the step checks of AWS's templates: rotation on, token AWSPENDING"),
        ("GetSecretValue AWSCURRENT", "the secret the new password is copied into"),
        (
            "GetSecretValue AWSPENDING",
            "a value already stored under the token is kept (DescribeSecret cannot tell: "
            "RotateSecret lists the token's version, labelled AWSPENDING, before it has one)",
        ),
        ("GetRandomPassword", "the new password, drawn by Secrets Manager to the rule"),
        ("PutSecretValue", "stores AWSPENDING before any provider call"),
        ("GetSecretValue credentials", "the keys and the binding (see BEYOND_TEMPLATE)"),
    ],
    # Each later step reads AWSCURRENT (edits carried forward) and AWSPENDING, and admits
    # them against the binding, from the warm handler's caches: no call (see _WARM).
    "setSecret": [("DescribeSecret", "the step checks")],
    "testSecret": [("DescribeSecret", "the step checks")],
    "finishSecret": [
        ("DescribeSecret", "the step checks (also give the version that is AWSCURRENT)"),
        ("UpdateSecretVersionStage", "moves AWSCURRENT to the new version"),
    ],
}
_CHANGE = {
    "uredis": "ModifyURedisGroupPassword",
    "tencent-2.0": "ModfiyRedisPassword",
    "tencent-3.0-modify": "ModifyInstancePassword",
    "tencent-3.0-reset": "ResetPassword",
    "elasticache-user": "ModifyUser",
    "elasticache-token": "ModifyReplicationGroup",
    "alibaba-default": "ModifyInstanceAttribute",
    "alibaba-account": "ResetAccountPassword",
    "alibaba-alternating": "ResetAccountPassword",
    "alibaba-cluster-alternating": "ResetAccountPassword",
}
_TENCENT_3 = [("DescribeInstances", "busy (Status 1), isolated or password-free?")]
_EC_USER = [("DescribeUsers", "state: only an active user may change; its user groups")]
_EC_NODES = [
    ("DescribeUserGroups", "the replication groups the user's groups reach"),
    ("DescribeReplicationGroups", "their nodes: the secret must list each, for the proof"),
]
_EC_GROUP = [
    (
        "DescribeReplicationGroups",
        "available? a token and transit encryption? (ROTATE without them leaves logins "
        "without a password open) and its nodes, for the proof",
    )
]
_ALI_INSTANCE = [("DescribeInstanceAttribute", "busy (Changing, a task) or not Normal?")]
_ALI_ACCOUNT = [*_ALI_INSTANCE, ("DescribeAccounts", "the account exists and is Available?")]
# Asked before the change: the provider's state (and, ElastiCache, the nodes to prove).
_DESCRIBE: dict[str, list[tuple[str, str]]] = {
    "uredis": [("DescribeUMem", "role and state: only a master that no workflow holds may change")],
    "tencent-2.0": [("DescribeRedis", "busy (status 1) or isolated?")],
    "tencent-3.0-modify": _TENCENT_3,
    "tencent-3.0-reset": _TENCENT_3,
    "elasticache-user": _EC_USER + _EC_NODES,
    "elasticache-token": _EC_GROUP,
    "alibaba-default": _ALI_INSTANCE,
    "alibaba-account": _ALI_ACCOUNT,
    "alibaba-alternating": _ALI_ACCOUNT,
    "alibaba-cluster-alternating": _ALI_ACCOUNT,
}
# Asked after the change until it has landed: once is needed; a provider that reports the
# change still in flight is asked again (``polls``, not a surplus).
_TASK = [("DescribeTaskInfo", "the change is a task: until it succeeded")]
_ALI_SETTLED = "the change is asynchronous: until it is no longer changing"
_STATUS: dict[str, list[tuple[str, str]]] = {
    "uredis": [("DescribeUMem", "the change is asynchronous: until the group is Running again")],
    "tencent-2.0": _TASK,
    "tencent-3.0-modify": _TASK,
    "tencent-3.0-reset": _TASK,
    "elasticache-user": [("DescribeUsers", "the change lands node by node: until active")],
    "elasticache-token": [("DescribeReplicationGroups", "until the group is available")],
    "alibaba-default": [(a, _ALI_SETTLED) for a, _ in _ALI_INSTANCE],
    "alibaba-account": [(a, _ALI_SETTLED) for a, _ in _ALI_ACCOUNT],
    "alibaba-alternating": [(a, _ALI_SETTLED) for a, _ in _ALI_ACCOUNT],
    "alibaba-cluster-alternating": [(a, _ALI_SETTLED) for a, _ in _ALI_ACCOUNT],
}
# The endpoints a secret lists (testSecret proves each): the bench's ElastiCache groups
# have a primary and one replica (localcloud.elasticache_examples.add_secret, replicas=1);
# the others one address (an Alibaba cluster instance: its proxy).
_ENDPOINTS = {"elasticache-user": 2, "elasticache-token": 2}

# What each connection attempt of a proof shows, by what it sends.
_PROBE_WHY = {
    "own": "the version's own credentials are accepted",
    "own refused": "are the version's own credentials accepted? (no: the proof stops there)",
    "wrong": "the same user with a random wrong password is refused (a user without a "
    "password would accept any, and AUTH alone would prove nothing)",
    "none": "a client without a password is refused",
}


def proof_calls(level: Level, accepted: bool = True) -> list[tuple[str, str]]:
    """(call, why) of one proof of one endpoint at ``level``, read off the layer's own
    ``Proof`` by running it against a probe that records each attempt and accepts only the
    version's own password (none, when not ``accepted``: a password not set yet)."""
    version = RedisSecret(
        "bench proof", {"provider": "uredis", "host": "127.0.0.1", "port": 6379, "password": "p"}
    )
    own = version.auth(version.password)
    sent: list[tuple[str, str]] = []

    class Recording:
        def ping(self, target: RedisTarget, username: str | None, password: str | None) -> bool:
            del target  # one endpoint: where it goes does not change what is sent
            kind = "none" if password is None else "own" if (username, password) == own else "wrong"
            sent.append(("PING" if password is None else "AUTH", kind))
            return accepted and kind == "own"

    Proof(RedisTimeouts(), Recording()).proves(version, level, Where.PRIMARY)
    return [
        (call, _PROBE_WHY[f"{kind} refused" if kind == "own" and not accepted else kind])
        for call, kind in sent
    ]


def _proof(step: str, level: Level, accepted: bool, what: str) -> list[tuple[str, str, str, str]]:
    return [(step, "redis", call, f"{what}: {why}") for call, why in proof_calls(level, accepted)]


def needed_calls(mode: str) -> list[tuple[str, str, str, str]]:
    """The calls one rotation of ``mode`` needs, with why: (step, kind, call, why). The Redis
    calls of each proof are the layer's own (``proof_calls``); which proofs a step makes,
    and how strong, is the engine's design, stated here and held by the measured calls."""
    needed = [
        (step, "secretsmanager", c, why) for step, calls in _SM_NEEDED.items() for c, why in calls
    ]
    set_step = "setSecret"
    # The bench's grants allow every address a password goes to, so no step asks the
    # provider for the instance's addresses (Gate.check_addresses asks only otherwise).
    needed += _proof(set_step, Level.FULL, False, "already set? (a retry: done, no provider call)")
    needed += [(set_step, "provider", action, why) for action, why in _DESCRIBE[mode]]
    needed += _proof(
        set_step,
        Level.FULL,
        False,
        "asked again after the provider said 'not busy': a change of an earlier "
        "attempt that landed in between would otherwise be made twice",
    )
    needed.append((set_step, "provider", _CHANGE[mode], "the change"))
    needed += [(set_step, "provider", action, why) for action, why in _STATUS[mode]]
    needed += _proof(set_step, Level.AUTH, True, "the change is proven before setSecret returns")
    for _ in range(_ENDPOINTS.get(mode, 1)):
        needed += _proof("testSecret", Level.FULL, True, "the pending password works, everywhere")
    needed += _proof("finishSecret", Level.FULL, True, "proof before promotion: the primary")
    for _ in range(_ENDPOINTS.get(mode, 1)):
        needed += _proof("finishSecret", Level.FULL, True, "...then every node, caught up")
    return needed


def _counter(calls: Iterable[Mapping[str, str]]) -> Counter[Key]:
    return Counter((c["step"], c["kind"], c["name"]) for c in calls)


def compare_with_template(calls: list[dict[str, str]]) -> dict[str, Any]:
    ours = Counter((c["step"], c["name"]) for c in calls if c["kind"] == "secretsmanager")
    aws = Counter((step, name) for step, names in AWS_TEMPLATE.items() for name in names)
    beyond = [
        {
            "step": step,
            "call": name,
            "count": n,
            "why": BEYOND_TEMPLATE.get((step, name), "UNEXPLAINED"),
        }
        for (step, name), n in (ours - aws).items()
    ]
    short = [
        {"step": step, "call": name, "count": n, "why": SHORT_OF_TEMPLATE.get((step, name), "")}
        for (step, name), n in (aws - ours).items()
    ]
    return {
        "ours": sum(ours.values()),
        "aws_single_user_template": sum(aws.values()),
        "beyond_template": beyond,
        "short_of_template": short,
        "all_explained": all(b["why"] != "UNEXPLAINED" for b in beyond),
    }


def sites(calls: Iterable[Mapping[str, str]], key: Key) -> list[dict[str, str]]:
    """Where the layer made the measured calls of ``key``, and the reason its code gives
    (``bench.callsite``), each place once, in the order first met."""
    found: dict[tuple[str, str, str], None] = {}
    for c in calls:
        if (c["step"], c["kind"], c["name"]) == key:
            found[(c.get("via", ""), c.get("why", ""), c.get("code", ""))] = None
    return [{"via": v, "why": w, "code": code} for v, w, code in found]


def _status_keys(mode: str) -> set[Key]:
    return {("setSecret", "provider", action) for action, _ in _STATUS[mode]}


def analyse_calls(mode: str, calls: list[dict[str, str]]) -> dict[str, Any]:
    needed = needed_calls(mode)
    need = Counter((s, k, c) for s, k, c, _ in needed)
    measured = _counter(calls)
    beyond = measured - need
    # Asked again while the provider reported the change in flight: waiting, not waste.
    polls = Counter({key: n for key, n in beyond.items() if key in _status_keys(mode)})
    # A surplus call's reason is the code's own, read where it was made: no prose to rot.
    surplus = [
        {"step": s, "kind": k, "call": c, "count": n, "made_by": sites(calls, (s, k, c))}
        for (s, k, c), n in (beyond - polls).items()
    ]
    kinds = Counter(c["kind"] for c in calls)
    return {
        "per_kind": {k: kinds.get(k, 0) for k in ("secretsmanager", "provider", "redis")},
        "needed_per_kind": {
            k: sum(1 for _, kind, _, _ in needed if kind == k)
            for k in ("secretsmanager", "provider", "redis")
        },
        "sequence": [f"{c['step']}: {c['kind']} {c['name']} <- {c.get('via', '?')}" for c in calls],
        "needed": [
            {"step": s, "kind": k, "call": c, "why": w, "made_by": sites(calls, (s, k, c))}
            for s, k, c, w in needed
        ],
        "surplus": surplus,
        "polls": [{"step": s, "kind": k, "call": c, "count": n} for (s, k, c), n in polls.items()],
        "missing": [
            {"step": s, "kind": k, "call": c, "count": n}
            for (s, k, c), n in (need - measured).items()
        ],
    }


def run(rotations: int = 15) -> Measurement:
    measurement = Measurement("cost")
    # No rate limit: a throttled request's retry would count as a call of the rotation.
    spec = {
        "secrets": [{"name": f"bench/cost/{mode}", "mode": mode} for mode in COST_MODES],
        "rate_limit": 1_000_000,
    }
    with CloudProcess(spec, log_name="cost-cloud", startup_timeout=180) as cloud:
        cloud_cpu_before = float(cloud.request("cpu")["cpu"])
        result = run_worker(
            "cost", cloud.state, str(rotations), *COST_MODES, timeout=600, name="cost-worker"
        )
        cloud_cpu = float(cloud.request("cpu")["cpu"]) - cloud_cpu_before
    total_rotations = len(COST_MODES) * (rotations + 2)
    measurement.figures["local_cloud_cpu_ms_per_rotation"] = round(
        cloud_cpu / total_rotations * 1000, 1
    )
    modes: dict[str, Any] = {}
    for mode, data in result["modes"].items():
        totals: list[float] = data["cpu_totals"]
        # The target is judged on the least CPU of the timed rotations (as timeit advises:
        # the higher ones are other processes' interference), the median is reported too.
        cpu = min(totals)
        units = median([t / y for t, y in zip(totals, data["yardsticks"], strict=True)])
        calls = analyse_calls(mode, data["calls"])
        template = compare_with_template(data["calls"])
        modes[mode] = {
            "cpu_ms_min": round(cpu * 1000, 2),
            "cpu_ms_median": round(median(totals) * 1000, 2),
            "cpu_ms_max": round(max(totals) * 1000, 2),
            "cpu_in_describe_secret_calls": round(units, 1),
            "describe_secret_cpu_ms_median": round(median(data["yardsticks"]) * 1000, 3),
            "cpu_ms_per_step_median": {
                step: round(median(v) * 1000, 2) for step, v in data["cpu_per_step"].items()
            },
            "first_rotation_cpu_ms": {
                step: round(v * 1000, 1) for step, v in data["first_rotation_cpu"].items()
            },
            "rotations_timed": len(data["cpu_totals"]),
            "outcomes": data["outcomes"],
            "calls": calls,
            "secrets_manager_vs_aws_template": template,
        }
        measurement.targets.append(
            Target(
                f"CPU per rotation, {mode}",
                f"<= {CPU_TARGET * 1000:.0f} ms",
                f"{cpu * 1000:.1f} ms",
                cpu <= CPU_TARGET,
                f"least of {len(totals)}; median {median(totals) * 1000:.1f} ms; "
                f"= {units:.0f} DescribeSecret calls' CPU, same run",
            )
        )
        kinds = calls["per_kind"]
        surplus = sum(s["count"] for s in calls["surplus"])
        missing = sum(m["count"] for m in calls["missing"])
        measurement.targets.append(
            Target(
                f"calls per rotation, {mode}",
                "as needed, each with its reason",
                f"SM {kinds['secretsmanager']} (AWS {template['aws_single_user_template']}), "
                f"API {kinds['provider']}, Redis {kinds['redis']}",
                # Fewer than needed is a miss too: the list of needed calls is then stale.
                surplus == 0 and missing == 0 and template["all_explained"],
                "; ".join(
                    [f"waiting: {p['count']} more {p['call']}" for p in calls["polls"]]
                    + [
                        f"beyond need: {x['step']} {x['kind']} {x['call']}"
                        for x in calls["surplus"]
                    ]
                    + [f"not made: {m['step']} {m['kind']} {m['call']}" for m in calls["missing"]]
                ),
            )
        )
        measurement.targets.append(
            Target(
                f"Secrets Manager calls per rotation, {mode}",
                f"<= {SM_TARGET}",
                str(kinds["secretsmanager"]),
                kinds["secretsmanager"] <= SM_TARGET,
                f"AWS's single-user template: {template['aws_single_user_template']}",
            )
        )
    measurement.figures["modes"] = modes
    measurement.figures["aws_template"] = {
        "source": "aws-samples/aws-secrets-manager-rotation-lambdas: "
        "SecretsManagerRDSMySQLRotationSingleUser/lambda_function.py",
        "calls_per_step": AWS_TEMPLATE,
    }
    measurement.notes.append(
        "CPU: process CPU time of the functions' process around each handler invocation "
        "(the least of the timed rotations; median and the ratio to a DescribeSecret call "
        "measured after each rotation also given); the local cloud runs in another process. "
        "first_rotation_cpu_ms is a fresh process's first rotation of the mode (client "
        "creation and lazy imports; boto3 itself was already imported by the driver)."
    )
    return measurement
