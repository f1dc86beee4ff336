"""The built artifact is what we test: ``sam build``'s output, run the way Lambda runs it.

``sam build`` runs once for this module, into a temporary folder. Each built function then
runs in a process of its own (tests/support/function_process.py) whose imports resolve only
from the built function folder, the built layer and a folder holding what the Lambda runtime
provides (boto3 and botocore's family, linked from the venv): not the source tree, not the
venv's site-packages. Its environment is the one the built template gives the function
(parameter defaults), plus the local cloud's endpoints, plus what Lambda sets: tracing is
on, and the X-Ray SDK sends its subsegments to a UDP socket of this test, as it would to
the X-Ray daemon.

Every sample event in events/ is executed here: each provider's four files are one
rotation, with the placeholder SecretId and ClientRequestToken replaced by a local
secret's ARN and its real AWSPENDING version id (the files stay valid for
``sam local invoke -e``).
"""

from __future__ import annotations

import json
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.driver import STEPS, LambdaContext
from tests.conftest import leaks, stored_secrets
from tests.support.function_process import RUNNER, FunctionProcess, link_runtime_packages
from tests.support.sam_build import FUNCTIONS, Build, sam_build, zipped_size
from tests.support.tools import ROOT
from tests.support.traces import TraceCollector

pytestmark = pytest.mark.e2e

EVENTS = ROOT / "events"

# The layer's own packages: each must be imported from the built layer.
LAYER_PACKAGES = (
    "redis_rotation",
    "redis",
    "requests",
    "aws_lambda_powertools",
    "fastjsonschema",
    "aws_xray_sdk",
    "wrapt",
)
# ElastiCache keeps the previous password valid beside the new one until the next rotation.
DUAL_PASSWORD = frozenset({"elasticache"})
MIB = 1024 * 1024
LAYER_ZIP_BUDGET = 5 * MIB


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return sam_build(tmp_path_factory.mktemp("sam-build"))


@pytest.fixture(scope="module")
def runtime_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with only what the Lambda runtime provides, linked from the venv."""
    return link_runtime_packages(tmp_path_factory.mktemp("lambda-runtime"))


# --- the rotations, once ----------------------------------------------------------------------


def event_files(provider: str) -> list[Path]:
    """The provider's sample events, in the order Secrets Manager sends the steps."""
    return [EVENTS / provider / f"{step}.json" for step in STEPS]


def materialize(path: Path, secret_arn: str, token: str) -> dict[str, Any]:
    """The sample event with its placeholder secret and version replaced by real ones."""
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {**event, "SecretId": secret_arn, "ClientRequestToken": token}


@dataclass
class Rotation:
    example: ExampleSecret
    old_password: str
    outcomes: list[str]


@dataclass
class BuiltRun:
    build: Build
    rotations: dict[str, Rotation]
    outputs: dict[str, str]
    modules: dict[str, dict[str, str]]
    traces: list[dict[str, Any]]
    trace_text: str
    secrets: set[str]
    runtime_site: Path


def rotate_with_events(cloud: LocalCloud, function: FunctionProcess) -> Rotation:
    provider = function.function.provider
    add = {
        "uredis": cloud.add_uredis_secret,
        "tencent": cloud.add_tencent_secret,
        "alibaba": cloud.add_alibaba_secret,
        "elasticache": cloud.add_elasticache_secret,
    }[provider]
    example = add(f"built/{provider}-events")
    old = cloud.value(example.arn, "AWSCURRENT")["password"]
    driver = cloud.driver(provider, invoke=function.invoke)
    token = driver.start(example.arn)  # RotateSecret: the empty AWSPENDING version
    outcomes = []
    for path in event_files(provider):
        event = materialize(path, example.arn, token)
        answer = function.invoke(event, LambdaContext(function.function.name, 60.0))
        outcomes.append(answer["Outcome"])
    return Rotation(example, old, outcomes)


def rotate_with_driver(
    cloud: LocalCloud, function: FunctionProcess, name: str, **options: Any
) -> Rotation:
    example = cloud.add_tencent_secret(name, **options)
    old = cloud.value(example.arn, "AWSCURRENT")["password"]
    result = cloud.driver("tencent", invoke=function.invoke).rotate(example.arn)
    assert result.succeeded, result.runs
    return Rotation(example, old, [run.outcome for run in result.runs])


@pytest.fixture(scope="module")
def built_run(
    build: Build, runtime_site: Path, cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory
) -> BuiltRun:
    logs = tmp_path_factory.mktemp("built-logs")
    traces = TraceCollector()
    processes = {
        provider: FunctionProcess.start(
            build.function(provider), runtime_site, cloud, traces, logs / f"{provider}.log"
        )
        for provider in FUNCTIONS
    }
    try:
        rotations = {
            provider: rotate_with_events(cloud, processes[provider]) for provider in FUNCTIONS
        }
        for mode in ("modify", "reset"):
            rotations[f"tencent-3.0-{mode}"] = rotate_with_driver(
                cloud,
                processes["tencent"],
                f"built/tencent-3.0-{mode}",
                api_version="3.0",
                change_mode=mode,
                task_duration=0.2,
            )
        modules = {provider: process.modules() for provider, process in processes.items()}
    finally:
        outputs = {provider: process.stop() for provider, process in processes.items()}
        found = traces.finish()
    secret_ids = {rotation.example.arn for rotation in rotations.values()}
    secrets = stored_secrets(cloud, secret_ids | set(cloud.credentials.values()))
    secrets |= {token for process in processes.values() for token in process.rotation_tokens}
    return BuiltRun(
        build, rotations, outputs, modules, found, "\n".join(traces.packets), secrets, runtime_site
    )


# --- the tests --------------------------------------------------------------------------------


def test_the_built_layer_is_small_and_complete(
    build: Build, summary_line: Callable[[str], None]
) -> None:
    layer = build.function("uredis").layer
    size = zipped_size(layer.parent)
    summary_line(
        f"built layer: {size / MIB:.2f} MiB zipped (budget {LAYER_ZIP_BUDGET / MIB:.0f} MiB); "
        f"sam build took {build.seconds:.0f} s"
    )
    assert size < LAYER_ZIP_BUDGET
    names = {path.name for path in layer.iterdir()}
    assert set(LAYER_PACKAGES) <= names
    assert not names & {"boto3", "botocore"}, "the runtime provides them"
    assert (layer / "redis_rotation" / "schemas" / "secret.schema.json").is_file()


@pytest.mark.parametrize("provider", FUNCTIONS)
def test_the_sample_events_rotate_with_the_built_function(
    built_run: BuiltRun, cloud: LocalCloud, provider: str, summary_line: Callable[[str], None]
) -> None:
    rotation = built_run.rotations[provider]
    assert rotation.outcomes == ["created", "changed", "tested", "finished"]
    example = rotation.example
    current = cloud.value(example.arn, "AWSCURRENT")
    new = current["password"]
    assert new != rotation.old_password
    assert example.accepts(current)
    old_still_valid = example.accepts({**current, "password": rotation.old_password})
    assert old_still_valid == (provider in DUAL_PASSWORD)
    assert cloud.value(example.arn, "AWSPREVIOUS")["password"] == rotation.old_password
    function = built_run.build.function(provider)
    summary_line(
        f"built {function.handler} (events/{provider}/*.json): "
        f"{', '.join(rotation.outcomes)}; new password accepted, old "
        f"{'kept (dual password)' if old_still_valid else 'refused'}; "
        f"redis_rotation from {Path(built_run.modules[provider]['redis_rotation']).parent}"
    )


@pytest.mark.parametrize("mode", ["modify", "reset"])
def test_the_built_tencent_function_rotates_with_api_3(
    built_run: BuiltRun, cloud: LocalCloud, mode: str
) -> None:
    rotation = built_run.rotations[f"tencent-3.0-{mode}"]
    assert rotation.outcomes == ["created", "changed", "tested", "finished"]
    new = cloud.value(rotation.example.arn, "AWSCURRENT")["password"]
    assert rotation.example.redis.accepts(new)
    assert not rotation.example.redis.accepts(rotation.old_password)


@pytest.mark.parametrize("provider", FUNCTIONS)
def test_the_built_function_imports_nothing_from_the_source_tree(
    built_run: BuiltRun, provider: str
) -> None:
    function = built_run.build.function(provider)
    modules = built_run.modules[provider]

    def origin(name: str) -> Path:
        return Path(modules[name])

    handler_module = function.handler.rpartition(".")[0]
    assert origin(handler_module).parent == function.code
    for name in LAYER_PACKAGES:
        assert origin(name).is_relative_to(function.layer), (name, modules[name])
    for name in ("boto3", "botocore"):
        assert origin(name).is_relative_to(built_run.runtime_site), (name, modules[name])
    stdlib = {Path(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
    allowed = (function.code, function.layer, built_run.runtime_site, *stdlib)
    strays = {
        name: path
        for name, path in modules.items()
        if not any(Path(path).is_relative_to(folder) for folder in allowed)
        and Path(path) != RUNNER  # the runner plays the runtime, as __main__
    }
    assert not strays, "imported from outside the built artifact and the runtime"


@pytest.mark.parametrize("provider", FUNCTIONS)
def test_the_built_function_logs_json_lines_and_emf_as_the_template_configures(
    built_run: BuiltRun, provider: str
) -> None:
    function = built_run.build.function(provider)
    documents = [
        json.loads(line) for line in built_run.outputs[provider].splitlines() if line.strip()
    ]
    logs = [d for d in documents if "level" in d]
    emf = [d for d in documents if "_aws" in d]
    assert len(logs) + len(emf) == len(documents), "nothing but JSON on stdout"
    assert logs
    for line in logs:
        assert line["service"] == function.environment["POWERTOOLS_SERVICE_NAME"]
        assert {"provider", "step", "secret_id", "token"} <= set(line), line
        assert line["level"] in ("INFO", "WARNING", "ERROR"), "POWERTOOLS_LOG_LEVEL=INFO"
    namespaces = {
        directive["Namespace"] for d in emf for directive in d["_aws"]["CloudWatchMetrics"]
    }
    assert namespaces == {function.environment["POWERTOOLS_METRICS_NAMESPACE"]}
    assert any("setSecretSuccess" in d for d in emf)


def test_the_built_functions_trace_every_call_without_a_response(built_run: BuiltRun) -> None:
    names = {segment["name"] for segment in built_run.traces}
    for expected in (
        "## lambda_handler",
        "secretsmanager",  # botocore, as the X-Ray SDK names it
        "## redis AUTH",
        "## uredis ModifyURedisGroupPassword",
        "## uredis DescribeUMem",
        "## uredis wait for change",
        "## tencent ModfiyRedisPassword",
        "## tencent ResetPassword",
        "## tencent DescribeTaskInfo",
        "## alibaba ModifyInstanceAttribute",
        "elasticache",  # boto3, with the function's own role
    ):
        assert expected in names, expected
    handlers = [s for s in built_run.traces if s["name"] == "## lambda_handler"]
    rotations = len(built_run.rotations)
    assert len(handlers) == 4 * rotations, f"one per invocation: {rotations} rotations of 4 steps"
    for segment in handlers:
        assert {"provider", "step", "secret_id", "token"} <= set(segment["annotations"])
    operations = {s["aws"]["operation"] for s in built_run.traces if s["name"] == "secretsmanager"}
    assert {"DescribeSecret", "GetSecretValue", "PutSecretValue"} <= operations
    elasticache = {s["aws"]["operation"] for s in built_run.traces if s["name"] == "elasticache"}
    assert {"DescribeUsers", "ModifyUser"} <= elasticache
    # requests, as the X-Ray SDK records it: the provider API's URL (no body, no headers).
    urls = {s["http"]["request"]["url"] for s in built_run.traces if "request" in s.get("http", {})}
    assert urls
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
    for segment in built_run.traces:
        for namespace in segment.get("metadata", {}).values():
            assert not any(key.endswith("response") for key in namespace), segment["name"]


def test_no_secret_reaches_the_built_functions_output_or_traces(built_run: BuiltRun) -> None:
    assert built_run.secrets, "the check looks for something"
    assert built_run.trace_text, "the check looks at something"
    text = "\n".join(built_run.outputs.values()) + built_run.trace_text
    assert leaks(text, built_run.secrets) == []
