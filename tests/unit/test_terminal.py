"""terminal_safe: every character a terminal acts on is shown as an escape, nothing else."""

from __future__ import annotations

import pytest

from redis_rotation.terminal import safe_lines, terminal_safe

pytestmark = pytest.mark.unit

UNSAFE = [
    *map(chr, range(0x00, 0x20)),  # C0, with ESC, CR, LF, BEL, BS
    "\x7f",  # DEL
    *map(chr, range(0x80, 0xA0)),  # C1, with CSI (0x9b)
    *map(chr, range(0x202A, 0x202F)),  # bidi embeddings and overrides
    *map(chr, range(0x2066, 0x206A)),  # bidi isolates
    "\u200e",  # left-to-right mark
    "\u2028",  # line separator
]


@pytest.mark.parametrize("char", UNSAFE, ids=[f"U+{ord(c):04X}" for c in UNSAFE])
def test_each_unsafe_character_becomes_visible_ascii(char: str) -> None:
    shown = terminal_safe(f"a{char}b")
    assert shown.startswith("a\\")
    assert shown.endswith("b")
    assert shown.isascii()
    assert shown.isprintable()
    assert int(shown[3:-1], 16) == ord(char)  # the escape names the character


def test_printable_text_is_left_alone() -> None:
    text = "ops/orders-1 é 中文 [ok] \\x1b"
    assert terminal_safe(text) == text


def test_lines_keep_their_own_breaks_only() -> None:
    assert safe_lines(["one\r", "two"]) == "one\\x0d\ntwo"
