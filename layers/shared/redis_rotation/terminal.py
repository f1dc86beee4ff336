"""Text from Secrets Manager or a provider made safe to print on a terminal.

A secret's writer chooses names, version ids (``ClientRequestToken``: 32-64 characters of
any kind) and values that end up in messages; a control character or escape sequence in
them could erase a line or fake an "ok", and a bidi override could reorder what is shown.
Every command line the CLI prints goes through ``terminal_safe``.
"""

from __future__ import annotations

import unicodedata

# Controls (C0, DEL, C1), formats (bidi overrides and isolates, zero-width characters),
# line and paragraph separators, and lone surrogates.
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def terminal_safe(text: str) -> str:
    """``text`` with every unsafe character shown as its escape (``\\x1b``, ``\\u202e``),
    so it prints as one visible line."""
    return "".join(_escape(c) if unicodedata.category(c) in _UNSAFE else c for c in text)


def safe_lines(lines: list[str]) -> str:
    """``lines`` (each made by the CLI, with text from outside in it) as one printable text."""
    return "\n".join(terminal_safe(line) for line in lines)
