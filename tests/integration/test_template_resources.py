"""The SAM template's resources: both linters, each function's settings, its log group and
alarms, the metadata for publishing, and the handlers."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from redis_rotation import __version__
from redis_rotation.config import Settings
from redis_rotation.entrypoint import function_provider
from redis_rotation.errors import ConfigurationError
from rotation_cli.status import selection_of
from tests.support.cloudformation import (
    ACCOUNT,
    ELASTICACHE_SECURITY_GROUPS,
    ELASTICACHE_SUBNETS,
    FUNCTIONS,
    LOG_GROUPS,
    REGION,
    REQUIRED_PARAMETERS,
    SECURITY_GROUPS,
    STACK,
    SUBNETS,
    Stack,
    sam_template,
    stack,
)
from tests.support.tools import BIN, ROOT, run_tool, tool_environment

pytestmark = pytest.mark.integration

LAYER_PACKAGE = ROOT / "layers" / "shared" / "redis_rotation"
ALARMS = {
    function_id: f"{logs[: -len('LogGroup')]}ErrorsAlarm"
    for function_id, logs in LOG_GROUPS.items()
}
# The ElastiCache function is always in its own VPC; the others only with SubnetIds.
OWN_VPC = {
    "ElastiCacheRotationFunction": {
        "SubnetIds": ELASTICACHE_SUBNETS,
        "SecurityGroupIds": ELASTICACHE_SECURITY_GROUPS,
    }
}
ALARM_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:rotation-alerts"


# --- Linters ----------------------------------------------------------------------------------


def test_cfn_lint_passes() -> None:
    run_tool([str(BIN / "cfn-lint"), "template.yaml"])


def test_sam_validate_lint_passes_offline(tmp_path: Path) -> None:
    run_tool(
        [str(BIN / "sam"), "validate", "--lint", "--template-file", "template.yaml"],
        env=tool_environment(tmp_path),
    )


def test_rendered_template_passes_cfn_lint(rendered: dict[str, Any], tmp_path: Path) -> None:
    # Linting template.yaml does not catch a role that names its own function through
    # Ref/GetAtt (a circular dependency); linting the rendered template does (E3004).
    path = tmp_path / "rendered.json"
    path.write_text(json.dumps(rendered), encoding="utf-8")
    run_tool([str(BIN / "cfn-lint"), str(path)])


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
    assert properties.get("VpcConfig") == OWN_VPC.get(function_id)
    assert "ReservedConcurrentExecutions" not in properties
    per_provider = {
        "uredis": {"PASSWORD_LENGTH": "32", "UREDIS_API_ENDPOINT": "https://api.ucloud.cn"},
        "tencent": {
            "PASSWORD_LENGTH": "16",
            "TENCENT_API_ENDPOINT": "https://redis.api.qcloud.com",
            "TENCENT_API3_ENDPOINT": "https://redis.tencentcloudapi.com",
        },
        # Alibaba's endpoint is the secret's region's (or its apiEndpoint); ElastiCache's is
        # the function's own region's.
        "alibaba": {"PASSWORD_LENGTH": "32"},
        "elasticache": {"PASSWORD_LENGTH": "32"},
    }
    assert properties["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "redis-rotation",
        "POWERTOOLS_METRICS_NAMESPACE": "RedisRotation",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
        "TEST_WAIT_SECONDS": "60",
        "REDIS_CONNECT_TIMEOUT": "5",
        "REDIS_SOCKET_TIMEOUT": "5",
        "HTTP_TIMEOUT": "10",
        "DEADLINE_MARGIN": "5",
        **per_provider[provider],
    }


# Each setting the functions read, its template parameter, and its default in config.py.
SETTINGS: dict[str, tuple[str, Callable[[Settings], float | str]]] = {
    "TEST_WAIT_SECONDS": ("TestWaitSeconds", lambda s: s.test_wait),
    "REDIS_CONNECT_TIMEOUT": ("RedisConnectTimeout", lambda s: s.redis_timeouts.connect),
    "REDIS_SOCKET_TIMEOUT": ("RedisSocketTimeout", lambda s: s.redis_timeouts.socket),
    "HTTP_TIMEOUT": ("HttpTimeout", lambda s: s.http_timeout),
    "DEADLINE_MARGIN": ("DeadlineMargin", lambda s: s.deadline_margin),
    "UREDIS_API_ENDPOINT": ("UredisApiEndpoint", lambda s: s.uredis_endpoint),
    "TENCENT_API_ENDPOINT": ("TencentApiEndpoint", lambda s: s.tencent_v2_endpoint),
    "TENCENT_API3_ENDPOINT": ("TencentApi3Endpoint", lambda s: s.tencent_v3_endpoint),
}


@pytest.mark.parametrize("variable", SETTINGS)
def test_each_setting_is_a_parameter_whose_default_and_range_are_the_codes(variable: str) -> None:
    """Every setting a user may need is a parameter; its default is the function's own, and
    its range is what config.py accepts (a value outside it fails every rotation)."""
    parameter, default_of = SETTINGS[variable]
    spec = sam_template()["Parameters"][parameter]
    default = default_of(Settings())
    if isinstance(default, float):
        assert float(spec["Default"]) == default
        low, high = float(spec["MinValue"]), float(spec["MaxValue"])
        for value, accepted in ((low, True), (high, True), (high + 1, False)):
            env = {variable: f"{value:g}"}
            if accepted:
                assert default_of(Settings.from_env(env)) == value
            else:
                with pytest.raises(ConfigurationError):
                    Settings.from_env(env)
    else:
        assert spec["Default"] == default


def _layer_id(rendered: Mapping[str, Any]) -> str:
    (layer_id,) = (
        str(key)
        for key, value in rendered["Resources"].items()
        if value["Type"] == "AWS::Lambda::LayerVersion"
    )
    return layer_id


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_vpc_config_only_when_subnets_are_given(rendered: dict[str, Any], function_id: str) -> None:
    shared = {"SubnetIds": SUBNETS, "SecurityGroupIds": SECURITY_GROUPS}
    assert stack(rendered, "kms").properties(function_id).get("VpcConfig") == OWN_VPC.get(
        function_id
    )
    assert stack(rendered, "vpc").properties(function_id)["VpcConfig"] == OWN_VPC.get(
        function_id, shared
    )


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
    # The page the description names exists (it once named a README table that did not).
    (page,) = re.findall(r"docs/[\w-]+\.md", alarm["AlarmDescription"])
    assert (ROOT / page).is_file()


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
    assert app["SemanticVersion"] == __version__, "one version for the package and the app"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["hatch"]["version"] == {
        "path": "layers/shared/redis_rotation/__init__.py"
    }
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    (newest,) = re.findall(r"^## \[?(\d+\.\d+\.\d+)", changelog, re.MULTILINE)[:1]
    assert newest == __version__, "the CHANGELOG's newest entry is this version"
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


def test_outputs_name_every_function_and_the_layer() -> None:
    outputs = sam_template()["Outputs"]
    values = {key: output["Value"] for key, output in outputs.items()}
    assert values == {
        "URedisRotationFunctionArn": {"Fn::GetAtt": ["URedisRotationFunction", "Arn"]},
        "TencentRotationFunctionArn": {"Fn::GetAtt": ["TencentRotationFunction", "Arn"]},
        "AlibabaRotationFunctionArn": {"Fn::GetAtt": ["AlibabaRotationFunction", "Arn"]},
        "ElastiCacheRotationFunctionArn": {"Fn::GetAtt": ["ElastiCacheRotationFunction", "Arn"]},
        "SharedLayerArn": {"Ref": "SharedLayer"},
        "URedisAlarmName": {"Ref": "URedisErrorsAlarm"},
        "TencentAlarmName": {"Ref": "TencentErrorsAlarm"},
        "AlibabaAlarmName": {"Ref": "AlibabaErrorsAlarm"},
        "ElastiCacheAlarmName": {"Ref": "ElastiCacheErrorsAlarm"},
    }
    assert all(output.get("Description") for output in outputs.values())


ENDPOINT_PARAMETERS = ("UredisApiEndpoint", "TencentApiEndpoint", "TencentApi3Endpoint")
GOOD_ENDPOINTS = [
    "https://api.ucloud.cn",
    "https://redis.tencentcloudapi.com",
    "https://api-1.internal.example:8443",
    "http://127.0.0.1:8080",  # a local emulator (the functions allow plain HTTP to loopback)
    "http://localhost",
]
BAD_ENDPOINTS = [
    "http://api.ucloud.cn",  # plain HTTP off loopback
    "http://127.0.0.1.evil.example",
    "http://localhost.evil.example:80",
    "https://user@api.ucloud.cn",  # userinfo
    "https://user:pw@api.ucloud.cn",
    "https://api.ucloud.cn\\@evil.example",  # backslash
    "https://evil.example\\",
    "https://api.ucloud.cn/",  # a path, even "/"
    "https://api.ucloud.cn/v2/index.php",
    "https://api.ucloud.cn?Action=x",  # query
    "https://api.ucloud.cn#fragment",
    "https://api.ucloud.cn:",  # an empty or too long port
    "https://api.ucloud.cn:123456",
    "https://-api.ucloud.cn",
    "https://api ucloud.cn",
    "https://api.ucloud.cn\n",  # a trailing newline ("$" alone would let it through)
    " https://api.ucloud.cn",
    "https://",
    "ftp://api.ucloud.cn",
    "HTTPS://api.ucloud.cn",
]


@pytest.mark.parametrize("parameter", ENDPOINT_PARAMETERS)
def test_api_endpoint_parameters_take_a_scheme_host_and_port_only(parameter: str) -> None:
    spec = sam_template()["Parameters"][parameter]
    # CloudFormation matches AllowedPattern against the whole value (Java's matches()).
    pattern = re.compile(spec["AllowedPattern"])
    assert pattern.fullmatch(spec["Default"])
    accepted = [value for value in GOOD_ENDPOINTS if pattern.fullmatch(value)]
    assert accepted == GOOD_ENDPOINTS
    assert [value for value in BAD_ENDPOINTS if pattern.fullmatch(value)] == []
    assert spec["ConstraintDescription"]


def test_the_secret_name_prefix_is_a_plain_name_start_or_empty() -> None:
    spec = sam_template()["Parameters"]["SecretNamePrefix"]
    assert spec["Default"] == ""
    pattern = re.compile(spec["AllowedPattern"])
    for good in ("", "redis/prod/", "team_a+b=c.d@e-f"):
        assert pattern.fullmatch(good), good
    # Wildcards would widen the ARN pattern; spaces and ":" are not in secret names.
    for bad in ("*", "redis/*", "redis?", "a b", "arn:aws:x"):
        assert not pattern.fullmatch(bad), bad


def test_every_parameter_is_described() -> None:
    parameters = sam_template()["Parameters"]
    assert all(len(spec.get("Description", "")) >= 20 for spec in parameters.values())


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


def test_status_stack_and_the_gate_know_every_function_the_template_deploys(
    rendered: dict[str, Any],
) -> None:
    """`status --stack` lists the stack's secrets by their rotation function's name, and a
    function's provider gates what its secrets may claim: a function the template deploys
    but the code does not know would be missed by both."""
    deployed = stack(rendered, "defaults")
    arns = {FUNCTIONS[f]: deployed.function_arn(f) for f in FUNCTIONS}
    assert {provider: function_provider(arn) for provider, arn in arns.items()} == {
        provider: provider for provider in arns
    }
    args = argparse.Namespace(function=None, stack=STACK, prefix=None, tag=None, all=False)
    assert selection_of(args).functions == {arn.rpartition(":")[2] for arn in arns.values()}
