"""Where in the layer an external call was made, and why, read off the code while it runs.

The call counts of ``bench.cost`` give each recorded call the chain of layer functions that
led to it and the first sentence of their docstrings. Nothing here names a layer function,
so a rename or a refactoring changes the report, never leaves it naming code that is gone.
"""

from __future__ import annotations

import inspect
import linecache
import re
import sys
from dataclasses import dataclass
from types import FrameType
from typing import Any

LAYER = "redis_rotation"
# Modules that carry a call rather than decide it: the polling loop, the log and metric
# wrappers, the HTTP transport's retries, the seams and the handler's entry.
CARRIERS = frozenset(
    f"{LAYER}.{name}"
    for name in ("polling", "observability", "providers.transport", "seams", "entrypoint")
)


@dataclass(frozen=True)
class Frame:
    """One layer function on the stack: ``module.qualname`` (without the layer's name)."""

    function: str
    why: str  # the first sentence of its docstring; "" when it has none
    line: str  # the source line it was running


@dataclass(frozen=True)
class Site:
    """The layer functions that led to one call, outermost first."""

    frames: tuple[Frame, ...]

    @property
    def chain(self) -> str:
        return " > ".join(f.function for f in self.frames)

    @property
    def why(self) -> str:
        """The innermost documented function's first sentence: what that code is for."""
        return next((f.why for f in reversed(self.frames) if f.why), "")

    @property
    def line(self) -> str:
        return self.frames[-1].line if self.frames else ""

    def to_json(self) -> dict[str, str]:
        return {"via": self.chain, "why": self.why, "code": self.line}


def first_sentence(doc: str | None) -> str:
    text = " ".join((doc or "").split("\n\n", 1)[0].split())
    match = re.match(r"(.+?\.)(\s|$)", text)
    return match.group(1) if match else text


def _resolve(module: str, qualname: str) -> Any:
    """The function object a frame runs, found by its qualified name (None for a closure or
    a lambda, which no module attribute reaches)."""
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


def layer_frame(frame: FrameType) -> Frame | None:
    module = str(frame.f_globals.get("__name__", ""))
    if not module.startswith(f"{LAYER}.") or module in CARRIERS:
        return None
    code = frame.f_code
    function = _resolve(module, code.co_qualname)
    return Frame(
        function=f"{module.removeprefix(f'{LAYER}.')}.{code.co_qualname}",
        why=first_sentence(inspect.getdoc(function)) if function is not None else "",
        line=linecache.getline(code.co_filename, frame.f_lineno).strip(),
    )


def site_of(frame: FrameType | None) -> Site:
    """The layer functions on ``frame``'s stack (the caller's when None), outermost first."""
    frame = frame or sys._getframe(1)
    found: list[Frame] = []
    while frame is not None:
        if (entry := layer_frame(frame)) is not None:
            found.append(entry)
        frame = frame.f_back
    return Site(tuple(reversed(found)))
