"""Deploy only what you use: a provider's function, role, permission, log group, alarm and
outputs exist only when its keys' secret is given, and every combination is a valid stack."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cloudformation import (
    ELASTICACHE_PARAMETERS,
    PSEUDO_PARAMETERS,
    REQUIRED_PARAMETERS,
    Stack,
    references,
)

pytestmark = pytest.mark.integration

# The secret that deploys a provider, its condition, and the prefix of its resources.
PROVIDERS = {
    "UredisCredentialsSecretArn": ("DeployUredis", "URedis"),
    "TencentCredentialsSecretArn": ("DeployTencent", "Tencent"),
    "AlibabaCredentialsSecretArn": ("DeployAlibaba", "Alibaba"),
    "ElastiCacheCredentialsSecretArn": ("DeployElastiCache", "ElastiCache"),
}
PER_PROVIDER = {
    parameter: {
        f"{prefix}{kind}"
        for kind in ("RotationFunction", "RotationRole", "RotationPermission", "LogGroup")
    }
    | {f"{prefix}ErrorsAlarm"}
    for parameter, (_, prefix) in PROVIDERS.items()
}
COMBINATIONS = {
    "uredis only": ["UredisCredentialsSecretArn"],
    "tencent only": ["TencentCredentialsSecretArn"],
    "alibaba only": ["AlibabaCredentialsSecretArn"],
    "elasticache only": ["ElastiCacheCredentialsSecretArn"],
    "uredis and tencent": ["UredisCredentialsSecretArn", "TencentCredentialsSecretArn"],
    "all": list(PROVIDERS),
}


def _deployment(rendered: dict[str, Any], given: list[str]) -> Stack:
    values = {name: REQUIRED_PARAMETERS[name] for name in given}
    if "ElastiCacheCredentialsSecretArn" in given:
        values |= ELASTICACHE_PARAMETERS
    return Stack(rendered, values)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_each_combination_deploys_its_providers_resources_and_no_others(
    rendered: dict[str, Any], combination: str
) -> None:
    given = COMBINATIONS[combination]
    deployment = _deployment(rendered, given)
    assert deployment.rules_hold()
    deployed = set(deployment.deployed())
    for parameter, resources in PER_PROVIDER.items():
        if parameter in given:
            assert resources <= deployed, f"{combination}: {resources - deployed} missing"
        else:
            assert not resources & deployed, f"{combination}: {resources & deployed} deployed"
    layer = {key for key, r in deployment.deployed().items() if r["Type"].endswith("LayerVersion")}
    assert len(layer) == 1, "the shared layer is always deployed"


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_each_combination_refers_only_to_what_it_deploys(
    rendered: dict[str, Any], combination: str
) -> None:
    """What CloudFormation checks first: a Ref, GetAtt, Sub or DependsOn to a resource the
    deployment does not create fails the whole stack."""
    deployment = _deployment(rendered, COMBINATIONS[combination])
    deployed = deployment.deployed()
    known = set(deployed) | set(rendered["Parameters"]) | set(PSEUDO_PARAMETERS) | {"AWS::NoValue"}
    for logical_id, resource in deployed.items():
        # Branches of Fn::If whose condition is false are never evaluated: resolve first.
        missing = references(_evaluated(deployment, resource)) - known
        assert not missing, f"{combination}: {logical_id} refers to {missing}"
    for key, output in deployment.outputs().items():
        missing = references(_evaluated(deployment, output)) - known
        assert not missing, f"{combination}: output {key} refers to {missing}"


def _evaluated(deployment: Stack, node: Any) -> Any:
    """``node`` with every Fn::If reduced to the branch this deployment takes."""
    if isinstance(node, list):
        return [_evaluated(deployment, item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::If"}:
        condition, yes, no = node["Fn::If"]
        return _evaluated(deployment, yes if deployment.conditions[condition] else no)
    return {key: _evaluated(deployment, value) for key, value in node.items()}


def test_a_stack_without_any_provider_is_refused(rendered: dict[str, Any]) -> None:
    assert not _deployment(rendered, []).rules_hold()
    rule = rendered["Rules"]["AtLeastOneProvider"]["Assertions"][0]
    for parameter in PROVIDERS:
        assert parameter in rule["AssertDescription"]


def test_the_transform_keeps_each_providers_condition(rendered: dict[str, Any]) -> None:
    """The transform keeps each provider's condition on every resource it generates."""
    for logical_id, resource in rendered["Resources"].items():
        for parameter, resources in PER_PROVIDER.items():
            if logical_id in resources:
                assert resource.get("Condition") == PROVIDERS[parameter][0], logical_id


# The ElastiCache function without what it needs is refused before anything is made: outside
# a VPC it reaches no node, and without named ARNs its role would change nothing (or, were
# a "*" default ever added, everything).
ELASTICACHE_INCOMPLETE = {
    "no subnets": {"ElastiCacheSubnetIds": ""},
    "no security groups": {"ElastiCacheSecurityGroupIds": ""},
    "no users and no groups": {"ElastiCacheUserArns": "", "ElastiCacheReplicationGroupArns": ""},
}


@pytest.mark.parametrize("missing", ELASTICACHE_INCOMPLETE)
def test_the_elasticache_function_needs_its_vpc_and_named_resources(
    rendered: dict[str, Any], missing: str
) -> None:
    values = {
        "ElastiCacheCredentialsSecretArn": REQUIRED_PARAMETERS["ElastiCacheCredentialsSecretArn"],
        **ELASTICACHE_PARAMETERS,
    }
    assert Stack(rendered, values).rules_hold()
    assert not Stack(rendered, {**values, **ELASTICACHE_INCOMPLETE[missing]}).rules_hold()


@pytest.mark.parametrize("named", ["ElastiCacheUserArns", "ElastiCacheReplicationGroupArns"])
def test_users_or_groups_alone_are_enough_for_elasticache(
    rendered: dict[str, Any], named: str
) -> None:
    other = ({"ElastiCacheUserArns", "ElastiCacheReplicationGroupArns"} - {named}).pop()
    values = {
        "ElastiCacheCredentialsSecretArn": REQUIRED_PARAMETERS["ElastiCacheCredentialsSecretArn"],
        **ELASTICACHE_PARAMETERS,
        other: "",
    }
    deployed = Stack(rendered, values)
    assert deployed.rules_hold()
    assert deployed.conditions["DeployElastiCache"]


def test_elasticache_parameters_alone_deploy_nothing(rendered: dict[str, Any]) -> None:
    """Its ARNs and subnets without the grants' secret: no function, and the stack is refused
    as one with no provider at all."""
    deployment = Stack(rendered, ELASTICACHE_PARAMETERS)
    assert not PER_PROVIDER["ElastiCacheCredentialsSecretArn"] & set(deployment.deployed())
    assert not deployment.rules_hold()
