"""The built artifact is what we test: ``sam build``'s output, run the way Lambda runs it.

``sam build`` runs once for this module, into a temporary folder. Each built function then
runs in a process of its own (tests/e2e/built_runner.py) whose imports resolve only from
the built function folder, the built layer and a folder holding what the Lambda runtime
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

import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import yaml  # type: ignore[import-untyped]

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.driver import STEPS, LambdaContext
from tests.conftest import leaks, stored_secrets

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
RUNNER = Path(__file__).with_name("built_runner.py")
BIN = Path(sys.executable).parent

FUNCTIONS = {"uredis": "URedisRotationFunction", "tencent": "TencentRotationFunction"}
# What the python3.13 Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
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
MIB = 1024 * 1024
LAYER_ZIP_BUDGET = 5 * MIB
BUILD_TIMEOUT = 300
REPLY_TIMEOUT = 120


# --- sam build --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltFunction:
    provider: str
    handler: str
    code: Path
    layer: Path  # the layer's python/ folder, /opt/python in Lambda
    environment: dict[str, str]
    name: str


@dataclass(frozen=True)
class Build:
    root: Path
    template: dict[str, Any]
    seconds: float

    def _value(self, node: Any) -> str:
        """A template value with the parameters at their defaults (Ref is all it uses)."""
        if isinstance(node, Mapping):
            ((name, argument),) = node.items()
            assert name == "Ref", f"{name} is not evaluated here"
            return str(self.template["Parameters"][argument]["Default"])
        return str(node)

    def function(self, provider: str) -> BuiltFunction:
        resources = self.template["Resources"]
        properties = resources[FUNCTIONS[provider]]["Properties"]
        (layer_ref,) = self.template["Globals"]["Function"]["Layers"]
        layer = resources[layer_ref["Ref"]]["Properties"]["ContentUri"]
        variables = {
            **self.template["Globals"]["Function"]["Environment"]["Variables"],
            **properties["Environment"]["Variables"],
        }
        return BuiltFunction(
            provider=provider,
            handler=properties["Handler"],
            code=self.root / properties["CodeUri"],
            layer=self.root / layer / "python",
            environment={key: self._value(value) for key, value in variables.items()},
            name=f"redis-rotation-built-{provider}",
        )


def _tool_environment(home: Path) -> dict[str, str]:
    """sam build needs python3.13 on PATH (the venv's) and no AWS settings at all."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", HOME=str(home))
    env.update(SAM_CLI_TELEMETRY="0")
    return env


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    out = tmp_path_factory.mktemp("sam-build")
    started = time.monotonic()
    done = subprocess.run(
        [
            str(BIN / "sam"),
            "build",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(out / "build"),
            "--cache-dir",
            str(out / "cache"),
        ],
        cwd=ROOT,
        env=_tool_environment(out),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    built = out / "build"
    template = yaml.safe_load((built / "template.yaml").read_text(encoding="utf-8"))
    return Build(built, template, time.monotonic() - started)


def zipped_size(folder: Path) -> int:
    """The size of the folder as `sam package` zips it (deflate), in bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return len(buffer.getvalue())


# --- the Lambda runtime, played ---------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with only what the Lambda runtime provides, linked from the venv."""
    site = tmp_path_factory.mktemp("lambda-runtime")
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None, name
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
        else:
            assert spec.origin is not None
            source = Path(spec.origin)
        (site / source.name).symlink_to(source)
    return site


class FunctionError(Exception):
    """A built function's invocation failed; the message names the original type."""


class TraceCollector:
    """Plays the X-Ray daemon on a loopback UDP port: keeps every document sent to it."""

    SENTINEL = b"end-of-test"

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.address = "{}:{}".format(*self._socket.getsockname())
        self.packets: list[str] = []
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while True:
            data = self._socket.recv(65536)
            if data == self.SENTINEL:
                self._ended.set()
                return
            self.packets.append(data.decode("utf-8"))

    def finish(self) -> list[dict[str, Any]]:
        """Every subsegment received, nested ones flattened. Packets on loopback arrive in
        the order sent, so once our own sentinel is read, all of the functions' are in."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(self.SENTINEL, self._socket.getsockname())
        assert self._ended.wait(30), "the trace collector did not drain"
        self._socket.close()
        found: list[dict[str, Any]] = []
        for packet in self.packets:
            header, _, body = packet.partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            found.extend(_flatten(json.loads(body)))
        return found


def new_trace_header() -> str:
    """What Lambda puts in _X_AMZN_TRACE_ID for a sampled invocation."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def _flatten(segment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield segment
    for child in segment.get("subsegments", []):
        yield from _flatten(child)


@dataclass
class FunctionProcess:
    """One built function, running in its own process, invoked like Lambda invokes it."""

    function: BuiltFunction
    process: subprocess.Popen[str]
    replies: IO[str]
    output: Path
    rotation_tokens: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        function: BuiltFunction,
        runtime_site: Path,
        cloud: LocalCloud,
        traces: TraceCollector,
        output: Path,
    ) -> FunctionProcess:
        environment = {
            # Imports: the function, the layer (/opt/python), the runtime; nothing else.
            "PYTHONPATH": os.pathsep.join(map(str, (function.code, function.layer, runtime_site))),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(output.parent),
            # What Lambda sets: tracing on (the X-Ray SDK's own Lambda mode).
            "LAMBDA_TASK_ROOT": str(function.code),
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_XRAY_DAEMON_ADDRESS": traces.address,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            **cloud.sm.environment(),
            **function.environment,
        }
        read_end, write_end = os.pipe()
        with output.open("w") as sink:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-S",  # no site-packages: the venv's must not mask a missing dependency
                    "-P",  # not the runner's folder either (the source tree)
                    str(RUNNER),
                    function.handler,
                    function.name,
                    str(write_end),
                ],
                stdin=subprocess.PIPE,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=environment,
                text=True,
                pass_fds=(write_end,),
            )
        os.close(write_end)
        return cls(function, process, os.fdopen(read_end), output)

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.replies.readline()
        assert line, f"the built function exited:\n{self.output.read_text()}"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def invoke(self, event: dict[str, Any], context: LambdaContext) -> Any:
        """The driver's Invoke: the event goes to the built handler, its answer comes back."""
        if isinstance(event.get("RotationToken"), str):
            self.rotation_tokens.append(event["RotationToken"])
        reply = self._ask(
            {
                "invoke": event,
                "timeout": context.get_remaining_time_in_millis() / 1000.0,
                "trace_id": new_trace_header(),
            }
        )
        if "error" in reply:
            raise FunctionError(f"{reply['error']['type']}: {reply['error']['message']}")
        return reply["result"]

    def modules(self) -> dict[str, str]:
        modules: dict[str, str] = self._ask({"modules": True})["modules"]
        return modules

    def stop(self) -> str:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=REPLY_TIMEOUT)
        self.replies.close()
        return self.output.read_text(encoding="utf-8")


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
    example = (
        cloud.add_uredis_secret("built/uredis-events")
        if provider == "uredis"
        else cloud.add_tencent_secret("built/tencent-events")
    )
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
    new = cloud.value(example.arn, "AWSCURRENT")["password"]
    assert new != rotation.old_password
    assert example.redis.accepts(new)
    assert not example.redis.accepts(rotation.old_password)
    assert cloud.value(example.arn, "AWSPREVIOUS")["password"] == rotation.old_password
    function = built_run.build.function(provider)
    summary_line(
        f"built {function.handler} (events/{provider}/*.json): "
        f"{', '.join(rotation.outcomes)}; new password accepted, old refused; "
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
    ):
        assert expected in names, expected
    handlers = [s for s in built_run.traces if s["name"] == "## lambda_handler"]
    assert len(handlers) == 16, "one per invocation: 4 rotations of 4 steps"
    for segment in handlers:
        assert {"provider", "step", "secret_id", "token"} <= set(segment["annotations"])
    operations = {s["aws"]["operation"] for s in built_run.traces if s["name"] == "secretsmanager"}
    assert {"DescribeSecret", "GetSecretValue", "PutSecretValue"} <= operations
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
