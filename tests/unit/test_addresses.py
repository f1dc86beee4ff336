"""A grant's redisAddresses, attacked by the writer of a rotated secret, who may choose any
host and port but is trusted only for what the keys' owner granted (issue 19, items 4-5)."""

from __future__ import annotations

import json
import string
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redis_rotation.addresses import AddressPattern
from redis_rotation.binding import Binding, Grant
from redis_rotation.errors import CredentialsSecretError, SecretFormatError
from redis_rotation.secret import Endpoint
from redis_rotation.store import SecretStore
from tests.unit.fakes import KEYS, FakeSecretsManager

pytestmark = pytest.mark.unit


def grant(*addresses: str) -> Grant:
    return Grant.of(
        {"secrets": ["s"], "instances": ["i"], "region": "r", "redisAddresses": list(addresses)}
    )


def allows(pattern: str, host: str, port: int = 6379) -> bool:
    return grant(pattern).allows_address(Endpoint(host, port))


@pytest.mark.parametrize(
    ("pattern", "host"),
    [
        # Item 4: an IP range never admits a name the writer's DNS answers for.
        ("10.0.0.0/24:6379", "10.0.0.evil.example"),
        ("10.0.0.0/24:6379", "10.0.0.1.nip.io"),
        ("10.0.0.5:6379", "10.0.0.5.nip.io"),
        # Numbers the resolver reads otherwise: 010 is octal (8), 0 is this machine.
        ("10.0.0.0/24:6379", "010.0.0.1"),
        ("10.0.0.0/24:6379", "0x0a.0.0.1"),
        ("10.0.0.0/24:6379", "10.1"),
        ("10.0.0.0/24:6379", "167772161"),
        ("10.0.0.0/24:6379", "10.0.0.1."),
        # Item 5: brackets are IPv6, not a character class.
        ("[fd00:1::5]:6379", "d"),
        ("[fd00:1::5]:6379", "0"),
        ("[fd00:1::5]:6379", "fd00:1::6"),
        ("[fd00:1::/64]:6379", "fd00:2::5"),
        # Names: one label for '*', never across a dot, never the bare suffix.
        ("*.redis.example.com:6379", "a.b.redis.example.com"),
        ("*.redis.example.com:6379", "redis.example.com"),
        ("*.redis.example.com:6379", "a.redis.example.com.evil.example"),
        ("*.redis.example.com:6379", "a.redis.example.com.."),
        ("redis.example.com:6379", "redis.example.com.evil.example"),
        # A name pattern never admits an IP; an IPv4 pattern never an IPv6 host.
        ("localhost:6379", "127.0.0.1"),
        ("10.0.0.0/24:6379", "fd00::a00:5"),
        ("[::/0]:6379", "::ffff:10.0.0.5"),
    ],
)
def test_a_writer_cannot_reach_outside_the_pattern(pattern: str, host: str) -> None:
    assert not allows(pattern, host)


@pytest.mark.parametrize(
    ("pattern", "host", "port"),
    [
        ("10.0.0.0/24:6379", "10.0.0.255", 6379),
        ("10.0.0.0/24:6379-6380", "10.0.0.1", 6380),
        ("10.0.0.5:6379", "::ffff:10.0.0.5", 6379),  # it reaches 10.0.0.5
        ("[fd00:1::5]:6379", "fd00:1::5", 6379),
        ("[fd00:1::5]:6379", "FD00:1:0::5", 6379),
        ("[fd00::/64]:6379", "fd00::ffff", 6379),
        ("*.redis.example.com:6379", "A.Redis.Example.COM.", 6379),
        ("Redis.Example.com.:6379", "redis.example.com", 6379),
    ],
)
def test_the_granted_addresses_are_admitted(pattern: str, host: str, port: int) -> None:
    assert allows(pattern, host, port)


@pytest.mark.parametrize(("pattern", "port"), [("10.0.0.5:6379-6380", 6381), ("x.io:7000", 1)])
def test_a_port_outside_the_range_is_refused(pattern: str, port: int) -> None:
    host = pattern.rpartition(":")[0]
    assert not allows(pattern, host, port)


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("10.0.0.*:6379", "is a glob; write 10.0.0.0/24:6379"),
        ("10.*.*.*:6379", "is a glob; write 10.0.0.0/8:6379"),
        ("fd00:1::5:*", "glob for its port: write a range such as 1-65535"),
        ("127.0.0.1:*", "glob for its port"),
        ("fd00:1::5:6379", "IPv6 address without brackets: write [fd00::5]:6379"),
        ("*:6379", "is a glob; write an IP"),
        ("redis-?.example.com:6379", "is a glob"),
        ("[fd00:1::*]:6379", "is a glob"),
        ("a*.example.com:6379", "is a glob"),
        ("*.*.example.com:6379", "is a glob"),
        ("10.0.0.5", "has no port"),
        ("redis.example.com:", "has no port"),
        ("10.0.0.5:0", "outside 1-65535"),
        ("10.0.0.5:6380-6379", "outside 1-65535"),
        ("10.0.0.5/24:6379", "host bits set: write 10.0.0.0/24"),
        ("010.0.0.1:6379", "not an IPv4 address"),
        ("[10.0.0.1]:6379", "write it without brackets"),
        ("[::ffff:10.0.0.1]:6379", "write the IPv4 form"),
        ("[fe80::1%eth0]:6379", "zone id"),
        ("0x0a.0.0.1:6379", "neither an IP nor a DNS name"),
        ("*.10.0.0:6379", "not a DNS name after '*.'"),
        ("redis\u3002example\u3002com:6379", "not ASCII"),
    ],
)
def test_a_bad_or_old_pattern_refuses_the_keys_secret(pattern: str, says: str) -> None:
    document = {"grants": [{"secrets": ["s"], "instances": ["i"], "region": "r"}] * 2}
    document["grants"][1] = {**document["grants"][1], "redisAddresses": ["10.0.0.9:1", pattern]}
    with pytest.raises(SecretFormatError) as caught:
        Binding.of(document, "credentials secret keys")
    assert caught.value.field == "grants.1.redisAddresses.1"
    assert says in str(caught.value)
    field = "field 'grants.1.redisAddresses.1'"
    assert str(caught.value).startswith(f"credentials secret keys: {field}")


def test_a_hostile_pattern_is_quoted_escaped() -> None:
    with pytest.raises(SecretFormatError) as caught:
        Binding.of(
            {
                "grants": [
                    {
                        "secrets": ["s"],
                        "instances": ["i"],
                        "region": "r",
                        "redisAddresses": ["\x1b[2K ok:*"],
                    }
                ]
            }
        )
    assert "\x1b" not in str(caught.value)
    assert "\\x1b[2K ok:*" in str(caught.value)


# Independent oracles: integer arithmetic for ranges, label lists for names.
octets = st.integers(0, 255)
ipv4 = st.tuples(octets, octets, octets, octets)


def as_int(address: tuple[int, ...]) -> int:
    return int.from_bytes(bytes(address), "big")


@given(ipv4, st.integers(0, 32), ipv4)
def test_a_cidr_range_admits_exactly_its_addresses(
    base: tuple[int, ...], prefix: int, host: tuple[int, ...]
) -> None:
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    network = (as_int(base) & mask).to_bytes(4, "big")
    pattern = f"{'.'.join(map(str, network))}/{prefix}:6379"
    expected = as_int(host) & mask == as_int(base) & mask
    assert allows(pattern, ".".join(map(str, host))) == expected


label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
name = st.lists(label, min_size=1, max_size=4).map(lambda labels: [*labels, "example"])


@given(ipv4, st.integers(0, 32), st.lists(label, min_size=1, max_size=3))
def test_an_ip_pattern_never_admits_a_name(
    address: tuple[int, ...], prefix: int, tail: list[str]
) -> None:
    base = ".".join(map(str, address))
    # Whatever follows the address, and whatever range: a name is never an IP.
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    network = ".".join(map(str, (as_int(address) & mask).to_bytes(4, "big")))
    assert not allows(f"{network}/{prefix}:6379", ".".join([base, *tail, "io"]))


@given(name, name, st.booleans())
def test_a_wildcard_admits_one_label_before_its_suffix(
    suffix: list[str], host: list[str], upper: bool
) -> None:
    written = ".".join(host).upper() if upper else ".".join(host)
    expected = len(host) == len(suffix) + 1 and host[1:] == suffix
    assert allows(f"*.{'.'.join(suffix)}:6379", written) == expected


@given(st.text(max_size=40))
def test_any_text_is_a_pattern_or_a_refusal_naming_the_field(text: str) -> None:
    raw = {
        "grants": [{"secrets": ["s"], "instances": ["i"], "region": "r", "redisAddresses": [text]}]
    }
    result = parsed(raw)
    if isinstance(result, SecretFormatError):
        assert result.field == "grants.0.redisAddresses.0"
        assert json.dumps(str(result)).isascii()
    else:
        assert result.text == text
        assert 1 <= result.low <= result.high <= 65535


def parsed(raw: dict[str, Any]) -> AddressPattern | SecretFormatError:
    try:
        return Binding.of(raw).grants[0].redis_addresses[0]
    except SecretFormatError as exc:
        return exc


def test_the_keys_secret_with_an_old_glob_is_refused_when_loaded() -> None:
    grants = [{**cast("dict[str, Any]", KEYS["grants"][0]), "redisAddresses": ["10.0.0.*:6379"]}]
    sm = FakeSecretsManager(others={"keys": json.dumps({**KEYS, "grants": grants})})
    with pytest.raises(CredentialsSecretError) as caught:
        SecretStore(cast("Any", sm)).load_credentials("keys", "credentials-uredis.schema.json")
    assert str(caught.value) == (
        "credentials secret keys: field 'grants.0.redisAddresses.0' (10.0.0.*:6379) is a glob; "
        "write 10.0.0.0/24:6379"
    )


octet_forms = st.sampled_from(["{}", "0{}", "0x{:x}", "0X{:X}"])


@given(ipv4, st.lists(octet_forms, min_size=4, max_size=4), st.integers(1, 4))
def test_a_number_the_resolver_reads_otherwise_matches_no_range(
    address: tuple[int, ...], forms: list[str], parts: int
) -> None:
    # Octal, hex and short forms (inet_aton's) reach other addresses than they look like.
    written = ".".join(form.format(o) for form, o in zip(forms, address[:parts], strict=False))
    plain = parts == 4 and all(form == "{}" for form in forms)
    assert allows("0.0.0.0/0:6379", written) == plain
