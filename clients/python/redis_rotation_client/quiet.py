"""No secret value in any log: the libraries' records made while the client reads a secret
are dropped.

botocore logs GetSecretValue's response body at DEBUG (``botocore.parsers``), and its
request at DEBUG (``botocore.endpoint``); urllib3 and boto3 log through the same door. An
application whose root logger is at DEBUG would log the password. The rotation functions
raise these libraries' levels for the whole process; an application's library must not
take away its owner's debugging, so here only the records made in the context (thread or
task) of the client's own read are dropped, by a filter on each of the libraries' loggers.

Why a filter on every logger: a filter on ``botocore`` does not see the records of
``botocore.parsers`` (filters do not apply to propagated records). Loggers are looked up
again before every read, so one made since the last read is covered too.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

# The libraries a Secrets Manager read goes through, by their loggers' top-level names.
LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer", "requests")

_reading: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "redis_rotation_client_reading", default=False
)


class _NotDuringSecretReads(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:  # noqa: ARG002  # logging's signature
        return not _reading.get()


_FILTER = _NotDuringSecretReads()


def _guard_loggers() -> None:
    for name in LIBRARIES:
        logging.getLogger(name)  # the top-level loggers exist from now on
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if (
            isinstance(logger, logging.Logger)
            and name.split(".", 1)[0] in LIBRARIES
            and _FILTER not in logger.filters
        ):
            logger.addFilter(_FILTER)


@contextlib.contextmanager
def unlogged() -> Iterator[None]:
    """A secret read: what the libraries log inside it, at any level, is dropped."""
    _guard_loggers()
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)
