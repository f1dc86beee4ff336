"""``sam build`` of template.yaml into a folder, and what it built, read from its template."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from tests.support.tools import BIN, ROOT, run_tool, tool_environment

# Provider -> the function's logical id in template.yaml.
FUNCTIONS = {
    "uredis": "URedisRotationFunction",
    "tencent": "TencentRotationFunction",
    "alibaba": "AlibabaRotationFunction",
    "elasticache": "ElastiCacheRotationFunction",
}
BUILD_TIMEOUT = 300


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


def sam_build(out: Path) -> Build:
    """Builds template.yaml into ``out`` (its own build and cache folders, so that nothing is
    shared with another build) and reads the built template."""
    started = time.monotonic()
    run_tool(
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
        env=tool_environment(out),
        timeout=BUILD_TIMEOUT,
    )
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
