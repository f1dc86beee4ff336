"""One valid password at rest (ElastiCache's ``strict``): once finishSecret has made the new
password AWSCURRENT, the provider drops the one it replaced. Run after the promotion and again
on finishSecret's retry, so that a drop a crash cut off is finished; safe to repeat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis_rotation import versions
from redis_rotation.errors import SecretFormatError
from redis_rotation.providers.base import ChangeHandle
from redis_rotation.redis_check import Level

if TYPE_CHECKING:
    from redis_rotation.event import RotationEvent
    from redis_rotation.secret import RedisSecret
    from redis_rotation.session import RotationSession


def drop_previous(
    session: RotationSession, event: RotationEvent, current: RedisSecret | None = None
) -> None:
    """Drop the password ``current`` (AWSCURRENT's version, admitted, proven) replaced, if the
    primary still accepts it: a second SET of an AUTH token would be refused, and a password
    already gone needs no call. Without ``current``: finishSecret's retry, once the label
    has moved; nothing but AWSCURRENT is read unless the secret asks for one password."""
    if current is None:
        found = session.versions(event).current
        # A provider without keys can tell from the value alone, calling nothing.
        if found is None or not session.provider(None).one_password_at_rest(found):
            return
        current, _ = versions.target(session, event)
    provider = session.provider(current)
    if not provider.one_password_at_rest(current):
        return
    # A drop sent before a crash may still be landing: asking again while it does would be
    # refused (InvalidUserState / InvalidReplicationGroupState).
    provider.wait_for_change(current, ChangeHandle())
    try:
        replaced = session.replaced(event)
    except SecretFormatError as exc:
        # Its password cannot be told: it stays valid until the next rotation's change.
        session.log.warning(
            "cannot read the version AWSCURRENT replaced", extra={"error": str(exc)}
        )
        return
    if replaced is None or replaced.password == current.password:
        return
    # Only its password is used, on AWSCURRENT's own (checked) endpoints and user.
    if session.proof.proves(current.with_password_of(replaced, replaced.label), Level.AUTH):
        provider.wait_for_change(current, provider.drop_previous(current))
        session.log.info("dropped the password AWSCURRENT replaced")
