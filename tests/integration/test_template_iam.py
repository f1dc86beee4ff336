"""The IAM the SAM template renders to, statement by statement, as plain strings once the
intrinsics are evaluated (tests/support/cloudformation.py): each function's role with and
without the optional KMS key and VPC, and who may invoke the functions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support.cloudformation import (
    ACCOUNT,
    ELASTICACHE,
    ELASTICACHE_GROUPS,
    ELASTICACHE_USERS,
    FUNCTIONS,
    KMS_KEY,
    LOG_GROUPS,
    REGION,
    REQUIRED_PARAMETERS,
    SCENARIOS,
    SECRET_NAME_PREFIX,
    SECRETS,
    Stack,
    sam_template,
    stack,
    statements,
)
from tests.support.tools import ROOT

pytestmark = pytest.mark.integration

PROVIDER_SOURCE = ROOT / "layers" / "shared" / "redis_rotation" / "providers" / "elasticache"

CREDENTIALS_PARAMETER = {
    "URedisRotationFunction": "UredisCredentialsSecretArn",
    "TencentRotationFunction": "TencentCredentialsSecretArn",
    "AlibabaRotationFunction": "AlibabaCredentialsSecretArn",
    "ElastiCacheRotationFunction": "ElastiCacheCredentialsSecretArn",
}
# Always in a VPC: ElastiCache nodes are reachable only from inside theirs.
ALWAYS_IN_A_VPC = {"ElastiCacheRotationFunction"}
ELASTICACHE_FUNCTION = "ElastiCacheRotationFunction"
# What the ElastiCache role may do to ElastiCache, with both users and groups named.
ELASTICACHE_STATEMENTS = [
    {
        "Effect": "Allow",
        "Action": ["elasticache:DescribeUsers", "elasticache:ModifyUser"],
        "Resource": sorted(ELASTICACHE_USERS),
    },
    {
        "Effect": "Allow",
        "Action": ["elasticache:DescribeReplicationGroups", "elasticache:ModifyReplicationGroup"],
        "Resource": ELASTICACHE_GROUPS,
    },
    # A user's nodes: its user groups and their replication groups (read-only, this account
    # and region).
    {
        "Effect": "Allow",
        "Action": ["elasticache:DescribeReplicationGroups", "elasticache:DescribeUserGroups"],
        "Resource": [f"{ELASTICACHE}:replicationgroup:*", f"{ELASTICACHE}:usergroup:*"],
    },
    # Cluster mode enabled: the nodes of every shard (read-only, this account and region).
    {
        "Effect": "Allow",
        "Action": ["elasticache:DescribeCacheClusters"],
        "Resource": [f"{ELASTICACHE}:cluster:*"],
    },
    {
        "Effect": "Deny",
        "Action": ["elasticache:ModifyUser"],
        "Resource": ["*"],
        "Condition": {
            "StringEquals": {"elasticache:UserAuthenticationMode": "no-password-required"}
        },
    },
]
# The network-interface actions of AWS's AWSLambdaVPCAccessExecutionRole (v3). The roles are
# explicit because SAM attaches that managed policy whenever VpcConfig is set, even to an
# Fn::If that resolves to AWS::NoValue (aws/serverless-application-model#3502).
ENI_ACTIONS = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_role_policy_is_exactly_what_rotation_needs(
    rendered: dict[str, Any], function_id: str, scenario: str
) -> None:
    deployed = stack(rendered, scenario)
    own_arn = deployed.function_arn(function_id)
    # Any secret, or with SecretNamePrefix only those whose name starts with it.
    prefix = SCENARIOS[scenario].get("SecretNamePrefix", "")
    expected = [
        # Its own log group only: GetAtt Arn of a log group ends in ":*" (its streams).
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"<{LOG_GROUPS[function_id]}.Arn>"],
        },
        {
            "Effect": "Allow",
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Resource": ["*"],
        },
        {
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": [f"{SECRETS}:{prefix}*"],
            # Only secrets whose rotation function is this very function.
            "Condition": {
                "StringEquals": {"secretsmanager:resource/AllowRotationLambdaArn": own_arn}
            },
        },
        {"Effect": "Allow", "Action": ["secretsmanager:GetRandomPassword"], "Resource": ["*"]},
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [REQUIRED_PARAMETERS[CREDENTIALS_PARAMETER[function_id]]],
        },
    ]
    if "KmsKeyArn" in SCENARIOS[scenario]:
        expected.append(
            {
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [KMS_KEY],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
                },
            }
        )
    if "SubnetIds" in SCENARIOS[scenario] or function_id in ALWAYS_IN_A_VPC:
        expected.append({"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": ["*"]})
    if function_id == ELASTICACHE_FUNCTION:
        expected += ELASTICACHE_STATEMENTS
    expected.sort(key=lambda statement: json.dumps(statement, sort_keys=True))
    role = deployed.role_of(function_id)
    assert statements(role) == expected
    # Nothing beyond the inline policy: no managed policy, no boundary, no other statement.
    assert set(role) == {"Description", "AssumeRolePolicyDocument", "Policies"}
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": ["sts:AssumeRole"],
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com"]},
        }
    ]


def test_each_function_has_its_own_explicit_role_and_sam_makes_none(
    rendered: dict[str, Any],
) -> None:
    roles = {
        key for key, value in rendered["Resources"].items() if value["Type"] == "AWS::IAM::Role"
    }
    template = sam_template()["Resources"]
    # The roles of template.yaml and no other: SAM generated no role of its own.
    assert roles == {key for key, value in template.items() if value["Type"] == "AWS::IAM::Role"}
    used = [rendered["Resources"][key]["Properties"]["Role"] for key in FUNCTIONS]
    assert sorted(role["Fn::GetAtt"][0] for role in used) == sorted(roles)
    assert len(roles) == len(FUNCTIONS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_eni_permissions_only_inside_a_vpc(rendered: dict[str, Any], scenario: str) -> None:
    deployed = stack(rendered, scenario)
    for function_id in FUNCTIONS:
        in_vpc = "SubnetIds" in SCENARIOS[scenario] or function_id in ALWAYS_IN_A_VPC
        role = deployed.role_of(function_id)
        ec2 = [
            statement
            for statement in statements(role)
            if any(action.startswith("ec2:") for action in statement["Action"])
        ]
        if in_vpc:
            assert ec2 == [{"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": ["*"]}]
        else:
            assert ec2 == []
        # The managed VPC-access policy (or any other) would grant them regardless.
        assert "ManagedPolicyArns" not in role
        assert "PermissionsBoundary" not in role


@pytest.mark.parametrize("scenario", ["defaults", "prefix"])
@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_secrets_manager_may_invoke_from_this_account_only(
    rendered: dict[str, Any], function_id: str, scenario: str
) -> None:
    deployed = stack(rendered, scenario)
    own_arn = deployed.function_arn(function_id)
    permissions = [
        deployed.properties(key)
        for key, value in rendered["Resources"].items()
        if value["Type"] == "AWS::Lambda::Permission"
        and deployed.resolve(value["Properties"]["FunctionName"]) == own_arn
    ]
    # Without a prefix no SourceArn: one function rotates many secrets. With one, only the
    # secrets whose name starts with it (Lambda compares SourceArn with StringLike).
    source = {"SourceArn": f"{SECRETS}:{SECRET_NAME_PREFIX}*"} if scenario == "prefix" else {}
    assert permissions == [
        {
            "FunctionName": own_arn,
            "Action": "lambda:InvokeFunction",
            "Principal": "secretsmanager.amazonaws.com",
            "SourceAccount": ACCOUNT,
            **source,
        }
    ]


def test_the_prefix_narrows_invoke_and_role_to_the_same_secrets(rendered: dict[str, Any]) -> None:
    """The pattern Secrets Manager may invoke for is the one the roles may touch: a secret
    the function may be invoked for but cannot read would only fail, and the reverse would
    grant more than needed."""
    deployed = stack(rendered, "prefix")
    for function_id in FUNCTIONS:
        (permission,) = [
            deployed.properties(key)
            for key, value in rendered["Resources"].items()
            if value["Type"] == "AWS::Lambda::Permission"
            and deployed.resolve(value["Properties"]["FunctionName"])
            == deployed.function_arn(function_id)
        ]
        rotated = [
            statement["Resource"]
            for statement in statements(deployed.role_of(function_id))
            if "secretsmanager:PutSecretValue" in statement["Action"]
        ]
        assert rotated == [[permission["SourceArn"]]]
        assert permission["SourceArn"] == f"{SECRETS}:redis/prod/*"


# --- ElastiCache: the role is the keys ----------------------------------------------------------

ELASTICACHE_NAMED = {
    "users and groups": (ELASTICACHE_USERS, ELASTICACHE_GROUPS),
    "users only": (ELASTICACHE_USERS, []),
    "groups only": ([], ELASTICACHE_GROUPS),
}
CHANGES = {"elasticache:ModifyUser", "elasticache:ModifyReplicationGroup"}


def _elasticache_stack(rendered: dict[str, Any], users: list[str], groups: list[str]) -> Stack:
    return Stack(
        rendered,
        {
            **REQUIRED_PARAMETERS,
            "ElastiCacheUserArns": ",".join(users),
            "ElastiCacheReplicationGroupArns": ",".join(groups),
        },
    )


def _granted(statement: dict[str, Any]) -> set[str]:
    return {action for action in statement["Action"] if action.startswith("elasticache:")}


@pytest.mark.parametrize("named", ELASTICACHE_NAMED)
def test_the_elasticache_role_changes_only_the_named_users_and_groups(
    rendered: dict[str, Any], named: str
) -> None:
    """The role is the only key: a rotated secret's writer who names another user or group
    than the owner's ARNs gets AccessDenied from AWS itself, whatever the grants say."""
    users, groups = ELASTICACHE_NAMED[named]
    deployed = _elasticache_stack(rendered, users, groups)
    assert deployed.rules_hold()
    allowed = [
        statement
        for statement in statements(deployed.role_of(ELASTICACHE_FUNCTION))
        if statement["Effect"] == "Allow" and _granted(statement)
    ]
    assert allowed
    may_change: dict[str, set[str]] = {action: set() for action in CHANGES}
    for statement in allowed:
        assert "*" not in statement["Resource"], statement
        for resource in statement["Resource"]:
            # This account and region only, whatever the action.
            assert resource.startswith(f"{ELASTICACHE}:"), resource
        for action in _granted(statement) & CHANGES:
            may_change[action] |= set(statement["Resource"])
    assert may_change == {
        "elasticache:ModifyUser": set(users),
        "elasticache:ModifyReplicationGroup": set(groups),
    }


def test_the_elasticache_role_grants_exactly_the_providers_calls(
    rendered: dict[str, Any],
) -> None:
    """The independent oracle is the provider's own source: every action it calls is granted
    (a missing one fails every rotation in AWS), and nothing else is."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in PROVIDER_SOURCE.glob("*.py"))
    called = {f"elasticache:{name}" for name in re.findall(r'call\(\s*"([A-Za-z]+)"', source)}
    assert len(called) >= 4, "the oracle reads the provider's calls"
    role = stack(rendered, "defaults").role_of(ELASTICACHE_FUNCTION)
    granted = set().union(*(_granted(s) for s in statements(role) if s["Effect"] == "Allow"))
    assert granted == called


def test_the_elasticache_role_may_never_make_a_user_password_free(
    rendered: dict[str, Any],
) -> None:
    role = stack(rendered, "defaults").role_of(ELASTICACHE_FUNCTION)
    denied = [s for s in statements(role) if s["Effect"] == "Deny"]
    assert denied == [
        {
            "Effect": "Deny",
            "Action": ["elasticache:ModifyUser"],
            "Resource": ["*"],
            "Condition": {
                "StringEquals": {"elasticache:UserAuthenticationMode": "no-password-required"}
            },
        }
    ]


def test_no_other_function_may_call_elasticache(rendered: dict[str, Any]) -> None:
    deployed = stack(rendered, "kms+vpc+prefix")
    for function_id in set(FUNCTIONS) - {ELASTICACHE_FUNCTION}:
        for statement in statements(deployed.role_of(function_id)):
            assert not _granted(statement), (function_id, statement)


ARN_PATTERNS = {
    "ElastiCacheUserArns": "user",
    "ElastiCacheReplicationGroupArns": "replicationgroup",
}


@pytest.mark.parametrize("parameter", ARN_PATTERNS)
def test_the_arn_parameters_take_one_accounts_arns_of_their_kind_only(parameter: str) -> None:
    """Each item of the list must match (CloudFormation applies AllowedPattern to each value
    of a CommaDelimitedList): no bare "*", no wildcard account or region, no other kind."""
    spec = sam_template()["Parameters"][parameter]
    assert spec["Type"] == "CommaDelimitedList"
    assert spec["Default"] == ""
    pattern = re.compile(spec["AllowedPattern"])
    kind = ARN_PATTERNS[parameter]
    other = "replicationgroup" if kind == "user" else "user"
    for good in ("", f"{ELASTICACHE}:{kind}:orders", f"{ELASTICACHE}:{kind}:team-a-*"):
        assert pattern.fullmatch(good), good
    for bad in (
        "*",
        f"{ELASTICACHE}:*",
        f"{ELASTICACHE}:{other}:orders",
        f"arn:aws:elasticache:*:{ACCOUNT}:{kind}:orders",
        f"arn:aws:elasticache:{REGION}:*:{kind}:orders",
        f"{ELASTICACHE}:usergroup:orders",
        f"{ELASTICACHE}:{kind}:orders/x",
        f"{ELASTICACHE}:{kind}:orders\n",
        f"arn:aws:elasticache:{REGION}:{ACCOUNT}:{kind}:",
    ):
        assert not pattern.fullmatch(bad), bad
