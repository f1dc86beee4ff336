"""Which versions a step acts on, and what an edit made during a rotation means for them.

AWSPENDING is a copy of AWSCURRENT made by createSecret. If AWSCURRENT is edited after
that (an operator switching apiVersion, removing a lagging replica), the two differ in a
field other than the password. Before the change lands, the rotation refuses and says how
to start again; after it landed, the edit is carried forward: proven and promoted with the
new password, never silently undone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis_rotation.errors import InstanceBusyError, RotationStateError
from redis_rotation.store import CURRENT, PENDING

if TYPE_CHECKING:
    from redis_rotation.event import RotationEvent
    from redis_rotation.providers.base import Provider
    from redis_rotation.secret import RedisSecret
    from redis_rotation.session import RotationSession


def refusal(target: RedisSecret) -> str:
    """Why testSecret or finishSecret refuses to go on."""
    endpoints = ", ".join(map(str, target.endpoints))
    return f"Redis does not accept the AWSPENDING password on every endpoint ({endpoints})"


def target(session: RotationSession, event: RotationEvent) -> tuple[RedisSecret, RedisSecret]:
    """(what the pending password is proven and promoted as, AWSPENDING), both admitted,
    the first's addresses cleared. After an edit to AWSCURRENT, the first is the edited
    AWSCURRENT with the pending password."""
    found = session.versions(event)
    pending, grant = found.admitted(PENDING)
    chosen, current = pending, found.current
    if current is not None and current.edited_field(pending) is not None:
        current, grant = found.admitted(CURRENT)
        if current.alternating and pending.account not in current.accounts:
            raise RotationStateError(
                f"{current.label}: field 'accounts' no longer names the account this rotation "
                f"changed ({pending.account}); put it back in 'accounts' to finish the rotation"
            )
        chosen = current.with_password_of(pending, f"{pending.label} (edited AWSCURRENT)")
    session.clear_addresses(chosen, grant)
    return chosen, pending


def refuse_edits(
    event: RotationEvent, provider: Provider, current: RedisSecret, pending: RedisSecret
) -> None:
    """Before a change: refuse one that would bring back what an edit of AWSCURRENT
    removed. Nothing has landed (the caller checked), so starting again loses nothing; a
    busy instance may still be applying one, so that is waited for first."""
    edited = current.edited_field(pending)
    if edited is None:
        return
    if provider.inspect(current).status.busy:
        raise InstanceBusyError(
            provider.name, "describe", "Busy", f"{current.instance_id} is busy: waiting"
        )
    raise RotationStateError(edited_message(event, pending, edited))


def refuse_same_account_or_password(current: RedisSecret, pending: RedisSecret) -> None:
    """Alternating: AWSPENDING must be the other account, or its change would lock out
    every client holding AWSCURRENT (createSecret never writes it so; a hand-written
    AWSPENDING might). And it must hold a new password: a copy of AWSCURRENT's (say, with a
    field removed) already works, and would end the rotation with no change."""
    if current.alternating and pending.account == current.account:
        raise RotationStateError(
            f"{pending.label}: field 'account' is AWSCURRENT's account; an alternating "
            "rotation changes only the other account of 'accounts'. Nothing was changed"
        )
    if pending.password == current.password:
        raise RotationStateError(
            f"{pending.label}: field 'password' is AWSCURRENT's password; a rotation needs a "
            "new one. Nothing was changed"
        )


def edited_message(event: RotationEvent, pending: RedisSecret, field_name: str) -> str:
    """What to do when AWSCURRENT was edited before the change landed."""
    return (
        f"{pending.label}: field '{field_name}' differs from AWSCURRENT (AWSCURRENT was edited "
        "after this rotation started, or AWSPENDING was written by hand); nothing was "
        "changed. Start again from AWSCURRENT: aws secretsmanager "
        f"update-secret-version-stage --secret-id {event.secret_id} --version-stage "
        f"AWSPENDING --remove-from-version-id {event.token}, then rotate the secret"
    )
