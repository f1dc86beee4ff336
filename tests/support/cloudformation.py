"""template.yaml rendered offline, and its intrinsics evaluated as CloudFormation would.

The SAM translator renders the template without AWS calls; ``Stack`` then evaluates the few
intrinsics it uses for a given set of parameter values, as at deploy time, so that tests
compare plain strings.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, ClassVar

import boto3
import yaml  # type: ignore[import-untyped]
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from tests.support.tools import ROOT

TEMPLATE = ROOT / "template.yaml"

# Function logical id -> provider (the events/ folder and the FunctionName suffix).
FUNCTIONS = {
    "URedisRotationFunction": "uredis",
    "TencentRotationFunction": "tencent",
    "AlibabaRotationFunction": "alibaba",
    "ElastiCacheRotationFunction": "elasticache",
}
LOG_GROUPS = {
    "URedisRotationFunction": "URedisLogGroup",
    "TencentRotationFunction": "TencentLogGroup",
    "AlibabaRotationFunction": "AlibabaLogGroup",
    "ElastiCacheRotationFunction": "ElastiCacheLogGroup",
}

# The deployment the tests evaluate: account, region, stack and parameter values.
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
ELASTICACHE = f"arn:aws:elasticache:{REGION}:{ACCOUNT}"
ELASTICACHE_USERS = [f"{ELASTICACHE}:user:team-a-*", f"{ELASTICACHE}:user:orders"]
ELASTICACHE_GROUPS = [f"{ELASTICACHE}:replicationgroup:orders-token"]
ELASTICACHE_SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1"]
ELASTICACHE_SECURITY_GROUPS = ["sg-0aaaaaaaaaaaaaaa2"]
# What the ElastiCache function needs besides its grants' secret (the template's rule).
ELASTICACHE_PARAMETERS = {
    "ElastiCacheUserArns": ",".join(ELASTICACHE_USERS),
    "ElastiCacheReplicationGroupArns": ",".join(ELASTICACHE_GROUPS),
    "ElastiCacheSubnetIds": ",".join(ELASTICACHE_SUBNETS),
    "ElastiCacheSecurityGroupIds": ",".join(ELASTICACHE_SECURITY_GROUPS),
}
# Every provider's secret: every resource of the template is deployed.
REQUIRED_PARAMETERS = {
    "UredisCredentialsSecretArn": f"{SECRETS}:ucloud/api-AbCdEf",
    "TencentCredentialsSecretArn": f"{SECRETS}:qcloud/api-GhIjKl",
    "AlibabaCredentialsSecretArn": f"{SECRETS}:alibaba/api-MnOpQr",
    "ElastiCacheCredentialsSecretArn": f"{SECRETS}:elasticache/grants-StUvWx",
    **ELASTICACHE_PARAMETERS,
}
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SECURITY_GROUPS = ["sg-0123456789abcdef0"]
SECRET_NAME_PREFIX = "redis/prod/"
KMS = {"KmsKeyArn": KMS_KEY}
VPC = {"SubnetIds": ",".join(SUBNETS), "SecurityGroupIds": ",".join(SECURITY_GROUPS)}
PREFIX = {"SecretNamePrefix": SECRET_NAME_PREFIX}
SCENARIOS: dict[str, dict[str, str]] = {
    "defaults": {},
    "kms": KMS,
    "vpc": VPC,
    "kms+vpc": {**KMS, **VPC},
    "prefix": PREFIX,
    "kms+vpc+prefix": {**KMS, **VPC, **PREFIX},
}


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
        if name == "Fn::EachMemberEquals":
            return all(item == self.resolve(args[1]) for item in self.resolve(args[0]))
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
            intrinsic = self._INTRINSICS.get(name)
            if intrinsic is not None:
                return intrinsic(self, args)
            assert not name.startswith("Fn::"), f"{name} is not evaluated by this test"
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    # -- the intrinsic functions the template uses, each given its arguments ------------

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.values:
            return self.values[name]
        return f"<{self.resources[name]['Type']} {name}>"

    def _fn_if(self, args: list[Any]) -> Any:
        return self.resolve(args[1] if self.conditions[args[0]] else args[2])

    def _fn_sub(self, args: str | list[Any]) -> str:
        text, variables = (args, {}) if isinstance(args, str) else args
        return self._sub(text, variables)

    def _fn_join(self, args: list[Any]) -> str:
        return str(args[0]).join(str(part) for part in self.resolve(args[1]))

    def _fn_get_att(self, args: list[str]) -> str:
        logical_id, attribute = args
        if self.resources[logical_id]["Type"] == "AWS::Lambda::Function":
            assert attribute == "Arn"
            return self.function_arn(logical_id)
        return f"<{logical_id}.{attribute}>"

    # Plain functions, not bound methods: the table is built once, with the class.
    _INTRINSICS: ClassVar[Mapping[str, Callable[[Stack, Any], Any]]] = {
        "Ref": _ref,
        "Fn::If": _fn_if,
        "Fn::Sub": _fn_sub,
        "Fn::Join": _fn_join,
        "Fn::GetAtt": _fn_get_att,
    }

    def deployed(self) -> dict[str, Any]:
        """The resources this deployment creates: those whose Condition, if any, holds."""
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if "Condition" not in resource or self.conditions[resource["Condition"]]
        }

    def outputs(self) -> dict[str, Any]:
        outputs: dict[str, Any] = self.template.get("Outputs", {})
        return {
            key: output
            for key, output in outputs.items()
            if "Condition" not in output or self.conditions[output["Condition"]]
        }

    def rules_hold(self) -> bool:
        """Whether every assertion of the Rules section holds (CloudFormation refuses to
        create or update the stack otherwise)."""
        return all(
            self._condition(assertion["Assert"])
            for rule in self.template.get("Rules", {}).values()
            if "RuleCondition" not in rule or self._condition(rule["RuleCondition"])
            for assertion in rule["Assertions"]
        )

    def properties(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resolve(self.resources[logical_id]["Properties"])
        return properties

    def role_of(self, function_id: str) -> dict[str, Any]:
        role = self.resources[function_id]["Properties"]["Role"]
        role_id, attribute = role["Fn::GetAtt"]
        assert attribute == "Arn"
        assert self.resources[role_id]["Type"] == "AWS::IAM::Role"
        return self.properties(role_id)


def stack(rendered: Mapping[str, Any], scenario: str) -> Stack:
    """The rendered template deployed with the required parameters and a scenario's."""
    return Stack(rendered, {**REQUIRED_PARAMETERS, **SCENARIOS[scenario]})


def references(node: Any) -> set[str]:
    """Every logical id or parameter that ``node`` refers to (Ref, GetAtt, Sub, DependsOn)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.add(str(value))
            elif key == "Fn::GetAtt":
                found.add(str(value[0] if isinstance(value, list) else value.split(".")[0]))
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= set(re.findall(r"\$\{([^}.!]+)", text)) - (
                    set(value[1]) if isinstance(value, list) else set()
                )
                found |= references(value[1] if isinstance(value, list) else [])
            elif key == "DependsOn":
                found |= {str(v) for v in _as_list(value)}
            else:
                found |= references(value)
    return found


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
