"""The functions' log lines and metrics, sent elsewhere while they run in this process: to
stderr while a command prints its result on stdout, or to a file during a benchmark."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, redirect_stdout
from typing import TextIO, cast

# The layer logs at ERROR at most: at CRITICAL, the functions' logger writes nothing.
SILENT = logging.CRITICAL
METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"


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


class _Both:
    """Writes to two streams (``--verbose`` and ``--log-file`` together)."""

    def __init__(self, first: TextIO, second: TextIO) -> None:
        self.streams = (first, second)

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def _both(first: TextIO, second: TextIO) -> TextIO:
    return cast(TextIO, _Both(first, second))  # the two members a log stream needs


@contextmanager
def function_logs(verbose: bool, log_file: str | None = None) -> Iterator[TextIO | None]:
    """For a command that runs the functions in this process (``demo``, ``rotate``): their
    JSON log lines and metrics are silenced, shown on stderr (``verbose``), appended to
    ``log_file``, or both. Yields the stream to give ``logs_to`` around each run, or None.

    The level is set here, not through POWERTOOLS_LOG_LEVEL: the logger was made when the
    command's modules were imported, before any option was read.
    """
    from redis_rotation.observability import logger

    level, metrics = logger.log_level, os.environ.get(METRICS_DISABLED)
    with contextlib.ExitStack() as stack:
        streams: list[TextIO] = [sys.stderr] if verbose else []
        if log_file:
            streams.append(stack.enter_context(open(log_file, "a", encoding="utf-8")))
        if not streams:
            logger.setLevel(SILENT)
            os.environ[METRICS_DISABLED] = "true"
        try:
            yield None if not streams else streams[0] if len(streams) == 1 else _both(*streams)
        finally:
            logger.setLevel(level)
            if metrics is None:
                os.environ.pop(METRICS_DISABLED, None)
            else:
                os.environ[METRICS_DISABLED] = metrics


def around_run(stream: TextIO | None) -> AbstractContextManager[None]:
    """``logs_to(stream)``, or nothing when the logs are silenced."""
    return logs_to(stream) if stream is not None else contextlib.nullcontext()
