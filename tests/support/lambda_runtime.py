"""Plays the Lambda Python runtime for one function of the ``sam build`` output.

Run by tests/support/function_process.py as
``python -S -P lambda_runtime.py <handler> <function name> <reply fd>`` with PYTHONPATH set
to the built function's folder, the built layer's ``python/`` folder and a folder holding
only what the Lambda runtime itself provides (boto3 and botocore's family): ``-S`` keeps
the development venv's site-packages out and ``-P`` keeps this file's folder (the source
tree) out, so every import resolves as it would in Lambda.

Requests come one JSON object per line on stdin; replies go, one per line, to the reply
file descriptor, so that the function's own stdout (its JSON logs and EMF metrics) stays
untouched for the test to read:

- ``{"invoke": <event>, "timeout": <seconds>, "trace_id": <X-Ray header>}`` →
  ``{"result": ...}`` or ``{"error": {"type": ..., "message": ...}}``
- ``{"modules": true}`` → ``{"modules": {<module name>: <file it was loaded from>}}``

Only the standard library is imported here, before the handler.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import uuid
from typing import Any


class Context:
    """The Lambda context object's attributes that the functions and Powertools read."""

    def __init__(self, function_name: str, timeout: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "built-runner"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def loaded_modules() -> dict[str, str]:
    return {
        name: str(module.__file__)
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
    }


def main() -> int:
    handler_spec, function_name, reply_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
    module_name, _, attribute = handler_spec.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    with os.fdopen(reply_fd, "w", buffering=1) as replies:
        for line in sys.stdin:
            request = json.loads(line)
            reply: dict[str, Any]
            if request.get("modules"):
                reply = {"modules": loaded_modules()}
            else:
                # Lambda sets the trace header per invocation; the X-Ray SDK reads it there.
                os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]
                context = Context(function_name, float(request["timeout"]))
                try:
                    reply = {"result": handler(request["invoke"], context)}
                except Exception as exc:  # the runtime reports any failure the same way
                    reply = {"error": {"type": type(exc).__name__, "message": str(exc)}}
            replies.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
