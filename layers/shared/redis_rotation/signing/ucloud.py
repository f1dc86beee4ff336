"""UCloud API signature: ``sha1(sorted key+value pairs + PrivateKey)``, lowercase hex.

Built from small pure steps so each can be tested on its own (the shape of botocore's
``auth.py``)::

    encode_params -> canonical_string -> signature

``UCloudSigner.add_auth`` chains them and returns the form fields to POST. The server
side (``verify``, for the local emulator) is ``localcloud.signatures.ucloud``, built on
these same steps.

The value encoding follows ``ucloud.core.typesystem.encoder`` in ``ucloud-sdk-python3``
(bool -> ``true``/``false``, integral float -> integer text, list -> ``Key.0``, dict ->
``Key.sub``), with three deliberate differences where the SDK would sign garbage:
non-integral floats never use scientific notation (the SDK sends ``str(1e-05)``), lists
nested in lists are flattened too (the SDK sends ``str(list)``), and keys that collide
after flattening or values of unsupported types raise instead of being sent.

Nothing is logged but parameter names: the canonical string carries every value,
including the (base64, not encrypted) password of ``ModifyURedisGroupPassword``.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from decimal import Decimal

__all__ = [
    "PUBLIC_KEY_PARAM",
    "SIGNATURE_PARAM",
    "UCloudSigner",
    "canonical_string",
    "encode_params",
    "encode_value",
    "signature",
]

logger = logging.getLogger(__name__)

SIGNATURE_PARAM = "Signature"
PUBLIC_KEY_PARAM = "PublicKey"


def encode_value(value: object) -> str:
    """Encode one scalar exactly as it must be both signed and sent."""
    # bool first: it is a subclass of int, and the gateway only accepts lower case.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot send a non-finite float ({value!r}) to the UCloud API")
        # The gateway reads numbers with Lua, which would turn "10.0" into 10 and fail
        # the signature; so integral floats go as integers, like the SDK does.
        if value.is_integer():
            return str(int(value))
        # repr is the shortest text that round-trips; Decimal re-renders it positionally
        # ("1e-05" -> "0.00001") because the gateway does not take scientific notation.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, (str, int)):
        return str(value)
    raise TypeError(f"unsupported UCloud parameter type: {type(value).__name__}")


def _flatten(prefix: str, value: object, out: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            # None in a mapping means "parameter not given", as in the SDK client.
            if item is not None:
                _flatten(f"{prefix}.{key}", item, out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if item is None:
                raise TypeError(f"None inside the list parameter {prefix!r}")
            _flatten(f"{prefix}.{index}", item, out)
    else:
        if prefix in out:
            # e.g. {"Ids.0": "a", "Ids": ["b"]}: sending both is ambiguous, refuse.
            raise ValueError(f"parameter {prefix!r} appears twice after flattening")
        out[prefix] = encode_value(value)


def encode_params(params: Mapping[str, object]) -> dict[str, str]:
    """Flatten ``params`` into the flat string form fields UCloud signs and receives.

    ``{"Ids": ["a", "b"], "Tag": {"Key": "k"}, "Limit": 10.0}`` becomes
    ``{"Ids.0": "a", "Ids.1": "b", "Tag.Key": "k", "Limit": "10"}``. ``None`` values
    are omitted.
    """
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is not None:
            _flatten(key, value, out)
    return out


def canonical_string(params: Mapping[str, str]) -> str:
    """``key + value`` for every parameter but ``Signature``, sorted by key, no separators.

    Python orders ``str`` by code point, which is the UTF-8 byte order UCloud specifies
    (``CPU`` before ``ChargeType``).
    """
    return "".join(key + params[key] for key in sorted(params) if key != SIGNATURE_PARAM)


def signature(canonical: str, private_key: str) -> str:
    """Lowercase hex sha1 of ``canonical + private_key`` (a plain hash, not an HMAC)."""
    data = (canonical + private_key).encode("utf-8")
    # sha1 is what the UCloud protocol mandates; we cannot choose another hash.
    return hashlib.sha1(data).hexdigest()  # noqa: S324


class UCloudSigner:
    """Signs UCloud API requests with an API key pair."""

    __slots__ = ("_private_key", "public_key")

    def __init__(self, public_key: str, private_key: str) -> None:
        if not public_key or not private_key:
            raise ValueError("both the UCloud public key and private key are required")
        self.public_key = public_key
        self._private_key = private_key

    def __repr__(self) -> str:
        return f"UCloudSigner(public_key={self.public_key!r})"

    def add_auth(self, params: Mapping[str, object]) -> dict[str, str]:
        """Return the form fields to send: the encoded ``params`` plus PublicKey and Signature.

        Send these strings unchanged (form-urlencoded once): a value re-rendered after
        signing, such as ``True`` for ``true``, fails with RetCode 171.
        """
        fields = encode_params(params)
        for reserved in (PUBLIC_KEY_PARAM, SIGNATURE_PARAM):
            if reserved in fields:
                raise ValueError(f"{reserved} is set by the signer, not by the caller")
        fields[PUBLIC_KEY_PARAM] = self.public_key
        logger.debug("UCloud signing parameters %s", ",".join(sorted(fields)))
        fields[SIGNATURE_PARAM] = signature(canonical_string(fields), self._private_key)
        return fields
