"""A built function in a process of its own, invoked the way Lambda invokes it.

The process runs tests/support/lambda_runtime.py with imports resolving only from the built
function folder, the built layer and a folder holding what the Lambda runtime provides.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from localcloud.cloud import LocalCloud
from localcloud.driver import LambdaContext
from tests.support.sam_build import BuiltFunction
from tests.support.traces import TraceCollector, new_trace_header

RUNNER = Path(__file__).with_name("lambda_runtime.py")
# What the python3.13 Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
REPLY_TIMEOUT = 120


def link_runtime_packages(site: Path) -> Path:
    """Fills ``site`` with only what the Lambda runtime provides, linked from the venv."""
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
