"""The fields of a redis-rotation secret an application needs: where Redis is, how to
reach it (TLS) and what to AUTH with.

Errors name the field, never a value: the value may be a password.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class SecretFormatError(ValueError):
    """The secret is not a redis-rotation secret this client can use."""

    def __init__(self, secret_id: str, field_name: str, problem: str) -> None:
        where = f" field '{field_name}'" if field_name else ""
        super().__init__(f"secret {secret_id}{where} {problem}")
        self.field_name = field_name


@dataclass(frozen=True)
class Credentials:
    """What one AUTH sends. ``repr`` never shows the password."""

    password: str = field(repr=False)
    username: str | None = None

    def auth_args(self) -> tuple[str] | tuple[str, str]:
        """The tuple redis-py's ``CredentialProvider.get_credentials`` returns."""
        if self.username is None:
            return (self.password,)
        return (self.username, self.password)


@dataclass(frozen=True)
class Tls:
    enabled: bool = True
    verify: bool = True
    ca_certificate: str | None = field(default=None, repr=False)


PLAIN = Tls(enabled=False, verify=False, ca_certificate=None)


@dataclass(frozen=True)
class Endpoint:
    """Where a secret's credentials may be sent: the address and the TLS settings they were
    read with. The host is compared in lower case; with TLS off, its other settings do not
    matter."""

    host: str
    port: int
    tls: Tls

    @classmethod
    def of(cls, host: str, port: int, tls: Tls) -> Endpoint:
        return cls(host.lower(), port, tls if tls.enabled else PLAIN)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port} ({describe(self.tls)})"


def describe(tls: Tls) -> str:
    """TLS settings in words (a CA certificate is public, but long: only whether one is set)."""
    if not tls.enabled:
        return "no TLS"
    verify = "verified" if tls.verify else "unverified"
    return f"TLS {verify}" + (", own CA" if tls.ca_certificate else "")


@dataclass(frozen=True)
class ClientSecret:
    host: str
    port: int
    tls: Tls
    credentials: Credentials
    read_only: tuple[tuple[str, int], ...] = ()  # readOnlyEndpoints' host and port

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint.of(self.host, self.port, self.tls)

    @property
    def nodes(self) -> frozenset[Endpoint]:
        """Every address this version names (``host`` and ``readOnlyEndpoints``): the only
        ones a cluster client's node connections may send its credentials to."""
        named = [(self.host, self.port), *self.read_only]
        return frozenset(Endpoint.of(host, port, self.tls) for host, port in named)

    @property
    def reach(self) -> tuple[Endpoint, frozenset[Endpoint]]:
        """Where a version's credentials may go: two versions with the same reach may share
        connections."""
        return self.endpoint, self.nodes


def _string(
    document: dict[str, Any], name: str, secret_id: str, required: bool, where: str = ""
) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        field_name = "tls.caCertificate" if name == "caCertificate" else where + name
        raise SecretFormatError(secret_id, field_name, "must be a non-empty string")
    return value


def _address(document: dict[str, Any], secret_id: str, where: str = "") -> tuple[str, int]:
    """``host`` and ``port`` of the document, or of one of its ``readOnlyEndpoints``."""
    host = _string(document, "host", secret_id, required=True, where=where)
    port = document.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise SecretFormatError(secret_id, where + "port", "must be an integer from 1 to 65535")
    assert host is not None
    return host, port


def _read_only(document: dict[str, Any], secret_id: str) -> tuple[tuple[str, int], ...]:
    listed = document.get("readOnlyEndpoints", [])
    if not isinstance(listed, list):
        raise SecretFormatError(secret_id, "readOnlyEndpoints", "must be a list")
    addresses = []
    for index, entry in enumerate(listed):
        where = f"readOnlyEndpoints[{index}]."
        if not isinstance(entry, dict):
            raise SecretFormatError(secret_id, where[:-1], "must be an object")
        addresses.append(_address(entry, secret_id, where))
    return tuple(addresses)


def _flag(tls: dict[str, Any], name: str, secret_id: str) -> bool:
    """A TLS switch: true unless the secret says false (as the rotation's schema)."""
    value = tls.get(name, True)
    if not isinstance(value, bool):
        raise SecretFormatError(secret_id, f"tls.{name}", "must be true or false")
    return value


def credentials_of(document: dict[str, Any], secret_id: str) -> Credentials:
    """The AUTH arguments of a secret, as the rotation function's own Redis check sends
    them: a custom account (``account``) authenticates with one argument, as its provider
    documents it (Tencent ``<account>@<password>``, Alibaba ``<account>:<password>``); a
    ``username`` is an ACL user of a two-argument AUTH."""
    password = _string(document, "password", secret_id, required=True)
    account = _string(document, "account", secret_id, required=False)
    username = _string(document, "username", secret_id, required=False)
    assert password is not None
    if account is not None:
        separator = ":" if document.get("provider") == "alibaba" else "@"
        return Credentials(password=f"{account}{separator}{password}")
    return Credentials(password=password, username=username)


def parse_secret(secret_string: str | None, secret_id: str) -> ClientSecret:
    if secret_string is None:
        raise SecretFormatError(secret_id, "", "has no SecretString")
    try:
        document = json.loads(secret_string)
    except ValueError:
        # The decoder's message can quote the document: only say that it is not JSON.
        raise SecretFormatError(secret_id, "", "is not valid JSON") from None
    if not isinstance(document, dict):
        raise SecretFormatError(secret_id, "", "must be a JSON object")
    host, port = _address(document, secret_id)
    raw_tls = document.get("tls", {})
    if not isinstance(raw_tls, dict):
        raise SecretFormatError(secret_id, "tls", "must be an object")
    tls = Tls(
        enabled=_flag(raw_tls, "enabled", secret_id),
        verify=_flag(raw_tls, "verify", secret_id),
        ca_certificate=_string(raw_tls, "caCertificate", secret_id, required=False),
    )
    credentials = credentials_of(document, secret_id)
    return ClientSecret(host, port, tls, credentials, _read_only(document, secret_id))
