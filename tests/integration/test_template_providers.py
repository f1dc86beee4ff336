"""Deploy only what you use: a provider's function, role, permission, log group, alarm and
outputs exist only when its keys' secret is given, and every combination is a valid stack."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cloudformation import (
    PSEUDO_PARAMETERS,
    REQUIRED_PARAMETERS,
    Stack,
    references,
)

pytestmark = pytest.mark.integration

PER_PROVIDER = {
    "UredisCredentialsSecretArn": {
        "URedisRotationFunction",
        "URedisRotationRole",
        "URedisRotationPermission",
        "URedisLogGroup",
        "URedisErrorsAlarm",
    },
    "TencentCredentialsSecretArn": {
        "TencentRotationFunction",
        "TencentRotationRole",
        "TencentRotationPermission",
        "TencentLogGroup",
        "TencentErrorsAlarm",
    },
}
COMBINATIONS = {
    "uredis only": ["UredisCredentialsSecretArn"],
    "tencent only": ["TencentCredentialsSecretArn"],
    "both": ["UredisCredentialsSecretArn", "TencentCredentialsSecretArn"],
}


def _deployment(rendered: dict[str, Any], given: list[str]) -> Stack:
    return Stack(rendered, {name: REQUIRED_PARAMETERS[name] for name in given})


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
    assert "UredisCredentialsSecretArn" in rule["AssertDescription"]


def test_the_transform_keeps_each_providers_condition(rendered: dict[str, Any]) -> None:
    """The transform keeps each provider's condition on every resource it generates."""
    for logical_id, resource in rendered["Resources"].items():
        for parameter, resources in PER_PROVIDER.items():
            if logical_id in resources:
                provider = "DeployUredis" if parameter.startswith("Uredis") else "DeployTencent"
                assert resource.get("Condition") == provider, logical_id
