"""Ctrl-C ends every command with 130, even when Python swallows the KeyboardInterrupt."""

from __future__ import annotations

import os
import signal

import pytest

from rotation_cli.main import remembered_interrupts

# The dropped interrupt is what these tests make: pytest reports it as unraisable.
pytestmark = [
    pytest.mark.unit,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


class Finalized:
    """Ctrl-C pressed while a finalizer runs: Python prints "Exception ignored in" and the
    code around goes on as if nothing happened (the demo then ran to the end, exit 0)."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(1000))  # the interrupt is raised here, inside __del__, and dropped


def test_python_drops_an_interrupt_raised_in_a_finalizer() -> None:
    """The premise: without the remembered flag, nothing after it would know."""
    Finalized()
    ran_on = True
    assert ran_on


def test_an_interrupt_dropped_in_a_finalizer_is_still_remembered() -> None:
    with remembered_interrupts() as interrupted:
        Finalized()
    assert interrupted.is_set()
    # The previous handler is back: Ctrl-C outside a command is Python's again.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _interrupt_now() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    sum(range(1000))


def test_an_interrupt_outside_finalizers_still_raises() -> None:
    with remembered_interrupts() as interrupted, pytest.raises(KeyboardInterrupt):
        _interrupt_now()
    assert interrupted.is_set()
