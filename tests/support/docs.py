"""The shell commands the README and docs show, read as a user would copy them."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.tools import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
_FENCE = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
_HEREDOC = re.compile(r"^cat > (\S+) <<'(\w+)'$")


@dataclass
class Block:
    """One ```sh block: its commands (continuations joined) and the files its heredocs write."""

    section: str
    commands: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


def sections(text: str) -> dict[str, str]:
    """Each ``##`` section's text, by its title."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def blocks(text: str, section: str) -> list[Block]:
    found = []
    for match in _FENCE.finditer(sections(text)[section]):
        block = Block(section)
        lines = iter(match.group(1).splitlines())
        pending = ""
        for line in lines:
            heredoc = _HEREDOC.match(line)
            if heredoc:
                name, end = heredoc.groups()
                body = []
                for inner in lines:
                    if inner == end:
                        break
                    body.append(inner)
                block.files[name] = "\n".join(body) + "\n"
                continue
            line = line.split("  #")[0].rstrip() if "  #" in line else line.rstrip()
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            command = (pending + line).strip()
            pending = ""
            if command:
                block.commands.append(command)
        found.append(block)
    return found


def words(command: str) -> list[str]:
    return shlex.split(command)


def doc_texts() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in [README, *DOCS]}
