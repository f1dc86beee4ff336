"""The SAM template: both linters, the IAM it renders to, the sample events, the handlers.

The template is rendered offline with the SAM translator (no AWS calls), then the few
intrinsics it uses are evaluated for a given set of parameter values, the way CloudFormation
would at deploy time, so the assertions compare plain strings: the policy of each function's
role with and without the optional KMS key and VPC.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml  # type: ignore[import-untyped]
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
LAYER_PACKAGE = ROOT / "layers" / "shared" / "redis_rotation"
# The venv's own tools, whichever venv runs the tests (not resolved: that would leave the venv).
BIN = Path(sys.executable).parent

STEPS = frozenset({"createSecret", "setSecret", "testSecret", "finishSecret"})
EVENT_FIELDS = frozenset({"Step", "SecretId", "ClientRequestToken", "RotationToken"})
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$")

# Function logical id -> provider (the events/ folder and the FunctionName suffix).
FUNCTIONS = {"URedisRotationFunction": "uredis", "TencentRotationFunction": "tencent"}
LOG_GROUPS = {
    "URedisRotationFunction": "URedisLogGroup",
    "TencentRotationFunction": "TencentLogGroup",
}
ALARMS = {
    "URedisRotationFunction": "URedisErrorsAlarm",
    "TencentRotationFunction": "TencentErrorsAlarm",
}
CREDENTIALS_PARAMETER = {
    "URedisRotationFunction": "UredisCredentialsSecretArn",
    "TencentRotationFunction": "TencentCredentialsSecretArn",
}

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACK = "redis-rotation-test"
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::StackName": STACK,
    "AWS::URLSuffix": "amazonaws.com",
}
SECRETS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret"
REQUIRED_PARAMETERS = {
    "UredisCredentialsSecretArn": f"{SECRETS}:ucloud/api-AbCdEf",
    "TencentCredentialsSecretArn": f"{SECRETS}:qcloud/api-GhIjKl",
}
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SECURITY_GROUPS = ["sg-0123456789abcdef0"]
KMS = {"KmsKeyArn": KMS_KEY}
VPC = {"SubnetIds": ",".join(SUBNETS), "SecurityGroupIds": ",".join(SECURITY_GROUPS)}
ALARM_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:rotation-alerts"
SCENARIOS: dict[str, dict[str, str]] = {
    "defaults": {},
    "kms": KMS,
    "vpc": VPC,
    "kms+vpc": {**KMS, **VPC},
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


# --- Loading and rendering --------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader plus CloudFormation's short tags, without touching yaml.SafeLoader itself."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def _sam_template_text() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def sam_template() -> dict[str, Any]:
    """A fresh copy of template.yaml (callers may mutate it)."""
    template: dict[str, Any] = yaml.load(_sam_template_text(), Loader=_CfnLoader)  # noqa: S506
    return template


def no_managed_policies() -> dict[str, str]:
    """The managed-policy map stub: the template names no managed policy, so it needs none."""
    return {}


def render(template: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudFormation the SAM transform makes of the template, computed offline."""
    packaged = copy.deepcopy(dict(template))
    # What `sam package` does: local code paths become S3 locations.
    for logical_id, resource in packaged["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = f"s3://artifacts-bucket/{logical_id}.zip"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    rendered: dict[str, Any] = translator.translate(
        packaged, parameter_values={}, get_managed_policy_map=no_managed_policies
    )
    return rendered


_NO_VALUE = object()


class Stack:
    """The rendered template as deployed with some parameter values: evaluates its intrinsics."""

    def __init__(self, template: Mapping[str, Any], overrides: Mapping[str, str]) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template["Resources"]
        values: dict[str, Any] = dict(PSEUDO_PARAMETERS)
        for name, spec in template.get("Parameters", {}).items():
            raw = overrides.get(name, spec.get("Default"))
            assert raw is not None, f"parameter {name} has no value and no default"
            raw = str(raw)
            values[name] = raw.split(",") if spec["Type"] == "CommaDelimitedList" else raw
        self.values = values
        self.conditions = {
            name: self._condition(expression)
            for name, expression in template.get("Conditions", {}).items()
        }

    def _condition(self, expression: Any) -> bool:
        (name, args), *_ = expression.items()
        if name == "Fn::Equals":
            return bool(self.resolve(args[0]) == self.resolve(args[1]))
        if name == "Fn::Not":
            return not self._condition(args[0])
        if name == "Fn::And":
            return all(self._condition(arg) for arg in args)
        if name == "Fn::Or":
            return any(self._condition(arg) for arg in args)
        if name == "Condition":
            return self._condition(self.template["Conditions"][args])
        raise AssertionError(f"condition function {name} is not evaluated by this test")

    def function_arn(self, logical_id: str) -> str:
        name = self.resolve(self.resources[logical_id]["Properties"]["FunctionName"])
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            value = variables[name] if name in variables else self.values[name]
            return str(self.resolve(value))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (name, args), *_ = node.items()
            if name == "Ref":
                if args == "AWS::NoValue":
                    return _NO_VALUE
                if args in self.values:
                    return self.values[args]
                return f"<{self.resources[args]['Type']} {args}>"
            if name == "Fn::If":
                return self.resolve(args[1] if self.conditions[args[0]] else args[2])
            if name == "Fn::Sub":
                text, variables = (args, {}) if isinstance(args, str) else args
                return self._sub(text, variables)
            if name == "Fn::Join":
                return str(args[0]).join(str(part) for part in self.resolve(args[1]))
            if name == "Fn::GetAtt":
                logical_id, attribute = args
                if self.resources[logical_id]["Type"] == "AWS::Lambda::Function":
                    assert attribute == "Arn"
                    return self.function_arn(logical_id)
                return f"<{logical_id}.{attribute}>"
            assert not name.startswith("Fn::"), f"{name} is not evaluated by this test"
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def properties(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resolve(self.resources[logical_id]["Properties"])
        return properties

    def role_of(self, function_id: str) -> dict[str, Any]:
        role = self.resources[function_id]["Properties"]["Role"]
        role_id, attribute = role["Fn::GetAtt"]
        assert attribute == "Arn"
        assert self.resources[role_id]["Type"] == "AWS::IAM::Role"
        return self.properties(role_id)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(role: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The role's inline statements, normalised (no Sid, lists sorted), in a stable order."""
    found = []
    for policy in role.get("Policies", []):
        for statement in _as_list(policy["PolicyDocument"]["Statement"]):
            normalised = {
                "Effect": statement["Effect"],
                "Action": sorted(_as_list(statement["Action"])),
                "Resource": sorted(_as_list(statement["Resource"])),
            }
            if "Condition" in statement:
                normalised["Condition"] = statement["Condition"]
            assert set(statement) <= {"Sid", *normalised}, statement
            found.append(normalised)
    return sorted(found, key=lambda statement: json.dumps(statement, sort_keys=True))


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    return render(sam_template())


def stack(rendered: Mapping[str, Any], scenario: str) -> Stack:
    return Stack(rendered, {**REQUIRED_PARAMETERS, **SCENARIOS[scenario]})


def _tool_env(home: Path) -> dict[str, str]:
    """No AWS settings at all (no region, profile or credentials), no telemetry."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(SAM_CLI_TELEMETRY="0", HOME=str(home))
    return env


def _run(command: list[str], env: Mapping[str, str] | None = None) -> None:
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"


# --- Linters ----------------------------------------------------------------------------------


def test_cfn_lint_passes() -> None:
    _run([str(BIN / "cfn-lint"), "template.yaml"])


def test_sam_validate_lint_passes_offline(tmp_path: Path) -> None:
    _run(
        [str(BIN / "sam"), "validate", "--lint", "--template-file", "template.yaml"],
        env=_tool_env(tmp_path),
    )


def test_rendered_template_passes_cfn_lint(rendered: dict[str, Any], tmp_path: Path) -> None:
    # Linting template.yaml does not catch a role that names its own function through
    # Ref/GetAtt (a circular dependency); linting the rendered template does (E3004).
    path = tmp_path / "rendered.json"
    path.write_text(json.dumps(rendered), encoding="utf-8")
    _run([str(BIN / "cfn-lint"), str(path)])


# --- Resources and settings -------------------------------------------------------------------


def test_the_template_has_one_function_per_provider_and_one_layer() -> None:
    resources = sam_template()["Resources"]
    functions = {key for key, value in resources.items() if value["Type"].endswith("::Function")}
    layers = {key for key, value in resources.items() if value["Type"].endswith("LayerVersion")}
    assert functions == set(FUNCTIONS)
    assert layers == {"SharedLayer"}


def test_layer_is_built_by_its_makefile_without_botocore() -> None:
    layer = sam_template()["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/shared"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    assert layer["Metadata"] == {"BuildMethod": "makefile"}
    content = ROOT / "layers" / "shared"
    makefile = (content / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^build-SharedLayer:", makefile, re.MULTILINE)
    assert "--platform any" in makefile, "pure-Python wheels: one layer for both architectures"
    assert (content / "redis_rotation" / "__init__.py").is_file()
    # The runtime provides boto3/botocore; aws-xray-sdk comes without its dependencies.
    with_deps = _requirements(content / "requirements.txt")
    without_deps = _requirements(content / "requirements-nodeps.txt")
    assert {"aws-lambda-powertools", "redis", "requests", "fastjsonschema"} <= with_deps
    assert without_deps == {"aws-xray-sdk", "wrapt"}
    assert not (with_deps | without_deps) & {"boto3", "botocore"}
    assert "--no-deps -r requirements-nodeps.txt" in makefile


def _requirements(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.split("==")[0] for line in lines if line and not line.startswith("#")}


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_function_settings_with_default_parameters(
    rendered: dict[str, Any], function_id: str
) -> None:
    deployed = stack(rendered, "defaults")
    properties = deployed.properties(function_id)
    provider = FUNCTIONS[function_id]
    assert properties["FunctionName"] == f"{STACK}-{provider}"
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Timeout"] == "300"
    assert properties["MemorySize"] == "256"
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Layers"] == [f"<AWS::Lambda::LayerVersion {_layer_id(rendered)}>"]
    assert properties["LoggingConfig"] == {
        "LogGroup": f"<AWS::Logs::LogGroup {LOG_GROUPS[function_id]}>"
    }
    assert "VpcConfig" not in properties
    assert "ReservedConcurrentExecutions" not in properties
    per_provider = {
        "uredis": {"PASSWORD_LENGTH": "32", "UREDIS_API_ENDPOINT": "https://api.ucloud.cn"},
        "tencent": {
            "PASSWORD_LENGTH": "16",
            "TENCENT_API_ENDPOINT": "https://redis.api.qcloud.com",
            "TENCENT_API3_ENDPOINT": "https://redis.tencentcloudapi.com",
        },
    }
    assert properties["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "redis-rotation",
        "POWERTOOLS_METRICS_NAMESPACE": "RedisRotation",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
        **per_provider[provider],
    }


def _layer_id(rendered: Mapping[str, Any]) -> str:
    (layer_id,) = (
        str(key)
        for key, value in rendered["Resources"].items()
        if value["Type"] == "AWS::Lambda::LayerVersion"
    )
    return layer_id


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_vpc_config_only_when_subnets_are_given(rendered: dict[str, Any], function_id: str) -> None:
    assert "VpcConfig" not in stack(rendered, "kms").properties(function_id)
    assert stack(rendered, "vpc").properties(function_id)["VpcConfig"] == {
        "SubnetIds": SUBNETS,
        "SecurityGroupIds": SECURITY_GROUPS,
    }


@pytest.mark.parametrize(("value", "expected"), [("0", None), ("5", "5")])
def test_reserved_concurrency_only_when_asked(
    rendered: dict[str, Any], value: str, expected: str | None
) -> None:
    deployed = Stack(rendered, {**REQUIRED_PARAMETERS, "ReservedConcurrency": value})
    for function_id in FUNCTIONS:
        assert deployed.properties(function_id).get("ReservedConcurrentExecutions") == expected


@pytest.mark.parametrize("retention", [None, "7"])
@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_each_function_logs_to_its_own_group_with_the_retention(
    rendered: dict[str, Any], function_id: str, retention: str | None
) -> None:
    overrides = {"LogRetentionDays": retention} if retention else {}
    deployed = Stack(rendered, {**REQUIRED_PARAMETERS, **overrides})
    group = rendered["Resources"][LOG_GROUPS[function_id]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    # The function's own (default) name: tools that derive it from the function find it.
    assert deployed.properties(LOG_GROUPS[function_id]) == {
        "LogGroupName": f"/aws/lambda/{STACK}-{FUNCTIONS[function_id]}",
        "RetentionInDays": retention or "30",
    }
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete"


@pytest.mark.parametrize("topic", [None, ALARM_TOPIC])
@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_each_function_has_an_errors_alarm_that_notifies_the_topic_if_any(
    rendered: dict[str, Any], function_id: str, topic: str | None
) -> None:
    overrides = {"AlarmTopicArn": topic} if topic else {}
    alarm = Stack(rendered, {**REQUIRED_PARAMETERS, **overrides}).properties(ALARMS[function_id])
    actions = {"AlarmActions": [topic]} if topic else {}
    assert alarm == {
        "AlarmName": f"{STACK}-{FUNCTIONS[function_id]}-errors",
        "AlarmDescription": alarm["AlarmDescription"],
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        # Ref of a function is its name: the alarm watches this very function.
        "Dimensions": [{"Name": "FunctionName", "Value": f"<AWS::Lambda::Function {function_id}>"}],
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        **actions,
    }
    assert "Troubleshooting" in alarm["AlarmDescription"]


def test_rotation_failed_rule_exists_only_with_a_topic(rendered: dict[str, Any]) -> None:
    rule = rendered["Resources"]["RotationFailedRule"]
    assert rule["Type"] == "AWS::Events::Rule"
    without = Stack(rendered, REQUIRED_PARAMETERS)
    assert without.conditions[rule["Condition"]] is False
    deployed = Stack(rendered, {**REQUIRED_PARAMETERS, "AlarmTopicArn": ALARM_TOPIC})
    assert deployed.conditions[rule["Condition"]] is True
    properties = deployed.properties("RotationFailedRule")
    assert properties["State"] == "ENABLED"
    # Rotation outcomes are CloudTrail *service* events, not API calls.
    assert properties["EventPattern"] == {
        "source": ["aws.secretsmanager"],
        "detail-type": ["AWS Service Event via CloudTrail"],
        "detail": {
            "eventSource": ["secretsmanager.amazonaws.com"],
            "eventName": ["RotationFailed", "TestRotationFailed"],
        },
    }
    (target,) = properties["Targets"]
    assert target["Arn"] == ALARM_TOPIC
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"]["secret"] == "$.detail.additionalEventData.SecretId"
    for name in transformer["InputPathsMap"]:
        assert f"<{name}>" in transformer["InputTemplate"]
    assert json.loads(transformer["InputTemplate"]).startswith("Secrets Manager reported")


def test_the_application_can_be_published_to_the_serverless_repository() -> None:
    """The Serverless Application Repository's rules for the metadata (its API reference),
    checked here because `sam publish` is the first to enforce them."""
    app = sam_template()["Metadata"]["AWS::ServerlessRepo::Application"]
    assert re.fullmatch(r"[a-zA-Z0-9-]{1,140}", app["Name"])
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", app["Author"])
    assert len(app["Author"]) <= 127
    assert 1 <= len(app["Description"]) <= 256
    assert len(app["Labels"]) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in app["Labels"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", app["SemanticVersion"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert app["SemanticVersion"] == project["version"], "one version for the package and the app"
    for url in (app["HomePageUrl"], app["SourceCodeUrl"]):
        assert url.startswith("https://")
    # `sam package` uploads these files: they must exist in the repository.
    assert (ROOT / app["ReadmeUrl"]).is_file()
    license_text = (ROOT / app["LicenseUrl"]).read_text(encoding="utf-8")
    assert app["SpdxLicenseId"] == "MIT"
    assert license_text.startswith("MIT License")


def test_every_environment_variable_is_read_by_the_code() -> None:
    """A renamed setting in config.py (or a typo in the template) fails here, not in AWS."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in LAYER_PACKAGE.rglob("*.py"))
    resources = sam_template()["Resources"]
    names = set(sam_template()["Globals"]["Function"]["Environment"]["Variables"])
    for function_id in FUNCTIONS:
        names |= set(resources[function_id]["Properties"]["Environment"]["Variables"])
    # Powertools reads its own POWERTOOLS_* settings.
    unread = {name for name in names if not name.startswith("POWERTOOLS_")}
    unread = {name for name in unread if f'"{name}"' not in source}
    assert not unread


def test_outputs_name_both_functions_and_the_layer() -> None:
    outputs = sam_template()["Outputs"]
    values = {key: output["Value"] for key, output in outputs.items()}
    assert values == {
        "URedisRotationFunctionArn": {"Fn::GetAtt": ["URedisRotationFunction", "Arn"]},
        "TencentRotationFunctionArn": {"Fn::GetAtt": ["TencentRotationFunction", "Arn"]},
        "SharedLayerArn": {"Ref": "SharedLayer"},
        "AlarmNames": {
            "Fn::Join": [",", [{"Ref": "URedisErrorsAlarm"}, {"Ref": "TencentErrorsAlarm"}]]
        },
    }
    assert all(output.get("Description") for output in outputs.values())


def test_every_parameter_is_described() -> None:
    parameters = sam_template()["Parameters"]
    assert all(len(spec.get("Description", "")) >= 20 for spec in parameters.values())


# --- IAM --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_role_policy_is_exactly_what_rotation_needs(
    rendered: dict[str, Any], function_id: str, scenario: str
) -> None:
    deployed = stack(rendered, scenario)
    own_arn = deployed.function_arn(function_id)
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
            "Resource": [f"{SECRETS}:*"],
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


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_secrets_manager_may_invoke_from_this_account_only(
    rendered: dict[str, Any], function_id: str
) -> None:
    deployed = stack(rendered, "defaults")
    own_arn = deployed.function_arn(function_id)
    permissions = [
        deployed.properties(key)
        for key, value in rendered["Resources"].items()
        if value["Type"] == "AWS::Lambda::Permission"
        and deployed.resolve(value["Properties"]["FunctionName"]) == own_arn
    ]
    # Not SourceArn: one function rotates many secrets.
    assert permissions == [
        {
            "FunctionName": own_arn,
            "Action": "lambda:InvokeFunction",
            "Principal": "secretsmanager.amazonaws.com",
            "SourceAccount": ACCOUNT,
        }
    ]


# --- Sample events ----------------------------------------------------------------------------

EVENT_FILES = sorted(EVENTS.rglob("*.json"))


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda path: str(path.relative_to(EVENTS)))
def test_sample_event_is_a_rotation_event(path: Path) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(event, dict)
    assert set(event) == EVENT_FIELDS
    assert event["Step"] in STEPS
    assert path.stem == event["Step"]
    assert path.parent.name in FUNCTIONS.values()
    assert SECRET_ARN.match(event["SecretId"])
    assert str(uuid.UUID(event["ClientRequestToken"])) == event["ClientRequestToken"]
    assert isinstance(event["RotationToken"], str)
    assert "FAKE" in event["RotationToken"].upper()


def test_sample_events_cover_every_step_of_one_rotation_per_provider() -> None:
    events = [
        (path.parent.name, json.loads(path.read_text(encoding="utf-8"))) for path in EVENT_FILES
    ]
    covered = {(provider, event["Step"]) for provider, event in events}
    assert covered == set(itertools.product(FUNCTIONS.values(), STEPS))
    assert len(events) == len(covered)
    for provider in FUNCTIONS.values():
        # The four steps of one rotation: same secret, same token.
        rotation = {
            (event["SecretId"], event["ClientRequestToken"])
            for name, event in events
            if name == provider
        }
        assert len(rotation) == 1


# --- Handlers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_handler_resolves_to_a_function_in_its_code_uri(function_id: str) -> None:
    properties = sam_template()["Resources"][function_id]["Properties"]
    module_name, _, attribute = properties["Handler"].rpartition(".")
    assert module_name
    assert "." not in module_name
    path = ROOT / properties["CodeUri"] / f"{module_name}.py"
    assert path.is_file(), path
    assert (path.parent / "requirements.txt").is_file()
    # Loaded from the CodeUri folder itself, under a name of its own; the layer package comes
    # from pytest's pythonpath, as it comes from /opt/python in Lambda.
    spec = importlib.util.spec_from_file_location(f"_template_handler_{module_name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(getattr(module, attribute, None))
