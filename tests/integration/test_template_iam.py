"""The IAM the SAM template renders to, statement by statement, as plain strings once the
intrinsics are evaluated (tests/support/cloudformation.py): each function's role with and
without the optional KMS key and VPC, and who may invoke the functions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.cloudformation import (
    ACCOUNT,
    FUNCTIONS,
    KMS_KEY,
    LOG_GROUPS,
    REGION,
    REQUIRED_PARAMETERS,
    SCENARIOS,
    SECRET_NAME_PREFIX,
    SECRETS,
    sam_template,
    stack,
    statements,
)

pytestmark = pytest.mark.integration

CREDENTIALS_PARAMETER = {
    "URedisRotationFunction": "UredisCredentialsSecretArn",
    "TencentRotationFunction": "TencentCredentialsSecretArn",
}
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
    if "SubnetIds" in SCENARIOS[scenario]:
        expected.append({"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": ["*"]})
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
    in_vpc = "SubnetIds" in SCENARIOS[scenario]
    deployed = stack(rendered, scenario)
    for function_id in FUNCTIONS:
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
