"""Which versions a step acts on, and what an edit made during a rotation means for them.

AWSPENDING is a copy of AWSCURRENT made by createSecret. If AWSCURRENT is edited after
that (an operator switching apiVersion, removing a lagging replica), the two differ in a
field other than the password. Before the change lands, the rotation refuses and says how
to start again; after it landed, the edit is carried forward: proven and promoted with the
new password, never silently undone.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from redis_rotation.errors import InstanceBusyError, RotationStateError
from redis_rotation.store import CURRENT, PENDING

if TYPE_CHECKING:
    from redis_rotation.binding import Grant
    from redis_rotation.event import RotationEvent
    from redis_rotation.gate import Gate
    from redis_rotation.providers.base import Provider
    from redis_rotation.secret import RedisSecret
    from redis_rotation.store import SecretStore


def current_and_pending(
    store: SecretStore, gate: Gate, event: RotationEvent
) -> tuple[RedisSecret, RedisSecret, Grant]:
    """AWSCURRENT and AWSPENDING, both admitted by the gate, and AWSCURRENT's grant."""
    current = store.read_required(event.secret_id, CURRENT)
    pending = store.read_required(event.secret_id, PENDING, event.token)
    grant = gate.admit(current)
    gate.admit(pending)
    return current, pending, grant


def target(
    store: SecretStore, gate: Gate, event: RotationEvent
) -> tuple[RedisSecret, RedisSecret, Grant]:
    """(what the pending password is proven and promoted as, AWSPENDING, the grant for
    the first), both admitted. After an edit to AWSCURRENT, the first is the edited
    AWSCURRENT with the pending password."""
    current = store.read(event.secret_id, CURRENT)
    pending = store.read_required(event.secret_id, PENDING, event.token)
    grant = gate.admit(pending)
    chosen = pending
    if current is not None and current.edited_field(pending) is not None:
        grant = gate.admit(current)
        if current.alternating and pending.account not in current.accounts:
            raise RotationStateError(
                f"{current.label}: field 'accounts' no longer names the account this rotation "
                f"changed ({pending.account}); put it back in 'accounts' to finish the rotation"
            )
        chosen = current.with_password_of(pending, f"{pending.label} (edited AWSCURRENT)")
    return chosen, pending, grant


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


def refuse_same_account(current: RedisSecret, pending: RedisSecret) -> None:
    """Alternating: AWSPENDING must be the other account, or its change would lock out
    every client holding AWSCURRENT (createSecret never writes it so; a hand-written
    AWSPENDING might)."""
    if current.alternating and pending.account == current.account:
        raise RotationStateError(
            f"{pending.label}: field 'account' is AWSCURRENT's account; an alternating "
            "rotation changes only the other account of 'accounts'. Nothing was changed"
        )


def refuse_unchanged(current: RedisSecret, pending: RedisSecret) -> None:
    """AWSPENDING must hold a new password: a copy of AWSCURRENT's (say, with a field
    removed) already works, and would end the rotation with no change."""
    if pending.password == current.password:
        raise RotationStateError(
            f"{pending.label}: field 'password' is AWSCURRENT's password; a rotation needs a "
            "new one. Nothing was changed"
        )


def carried_token(token: str) -> str:
    """The version id of an edited AWSCURRENT carried forward by the rotation ``token``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"redis-rotation:{token}"))


def edited_message(event: RotationEvent, pending: RedisSecret, field_name: str) -> str:
    """What to do when AWSCURRENT was edited before the change landed."""
    return (
        f"{pending.label}: field '{field_name}' differs from AWSCURRENT (AWSCURRENT was edited "
        "after this rotation started, or AWSPENDING was written by hand); nothing was "
        "changed. Start again from AWSCURRENT: aws secretsmanager "
        f"update-secret-version-stage --secret-id {event.secret_id} --version-stage "
        f"AWSPENDING --remove-from-version-id {event.token}, then rotate the secret"
    )
