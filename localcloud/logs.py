"""The functions' log lines and metrics, sent to stderr while a command prints its result on
stdout."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout


@contextmanager
def logs_to_stderr() -> Iterator[None]:
    from redis_rotation.observability import logger

    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.setStream(sys.stderr) for h in handlers]
    try:
        with redirect_stdout(sys.stderr):  # Powertools prints its metric lines
            yield
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            if stream is not None:
                handler.setStream(stream)
