"""The functions' log lines and metrics, sent elsewhere while they run in this process: to
stderr while a command prints its result on stdout, or to a file during a benchmark."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, redirect_stdout
from typing import TextIO


@contextmanager
def logs_to(stream: TextIO) -> Iterator[None]:
    """Powertools' handler keeps the stream it was made with: pointed at ``stream`` for the
    block, and back after it (a closed file must not stay its stream)."""
    from redis_rotation.observability import logger

    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.setStream(stream) for h in handlers]
    try:
        with redirect_stdout(stream):  # Powertools prints its metric lines
            yield
    finally:
        for handler, previous in zip(handlers, streams, strict=True):
            if previous is not None:
                handler.setStream(previous)


def logs_to_stderr() -> AbstractContextManager[None]:
    return logs_to(sys.stderr)
