"""JSON Schema validation of secrets and credentials, with errors that name the field and
the rule, never the value (it may be a password): fastjsonschema's own exception carries it
(``.value``), so it is never chained or logged.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from redis_rotation.errors import SecretFormatError

# A secret value is at most 64 KiB in Secrets Manager; refuse anything larger before parsing.
MAX_SECRET_BYTES = 65536


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("redis_rotation.schemas").joinpath(name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


_OBJECT_RULES = ("allOf", "required", "additionalProperties")


@cache
def _validator(name: str, fields_only: bool = False) -> Any:
    """``fields_only``: only the rules of each field present (its type, form, bounds); not
    which fields are required or allowed, nor the cross-field rules (``allOf``)."""
    # Imported here: compiling is only needed by the steps that read a secret.
    import fastjsonschema

    schema = _schema(name)
    if fields_only:
        schema = {k: v for k, v in schema.items() if k not in _OBJECT_RULES}
    return fastjsonschema.compile(schema)


def secret_schema() -> dict[str, Any]:
    """The JSON Schema of a rotated secret (also rendered in the README)."""
    return _schema("secret.schema.json")


def _node_at(instance: Any, parts: list[Any]) -> Any:
    """The value at a fastjsonschema path (array items are named by their index text)."""
    node = instance
    for part in parts:
        if isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _bad_key(rule: str, definition: Any, node: Any) -> tuple[str | None, str] | None:
    """For a rule about an object's keys: (the key to name, problem). Keys are field names,
    not secret values, so they may be shown."""
    if not isinstance(node, dict):
        return None
    if rule == "required":
        missing = [k for k in definition.get("required", []) if k not in node]
        return (missing[0] if missing else None), "is required"
    if rule == "additionalProperties":
        known = set(definition.get("properties", {}))
        extra = sorted(str(k) for k in node if k not in known)
        return (extra[0] if extra else None), "is not a known field"
    return None


_BOUNDS = ("minLength", "maxLength", "minimum", "maximum", "maxItems", "minItems")


def _problem(rule: str, definition: Any) -> str:
    """What a value breaks, in words that never quote it."""
    if definition is False:
        return "is not allowed for this provider"
    if isinstance(definition, dict) and "errorMessage" in definition:
        # A cross-field rule of the schema says itself what is wrong.
        return str(definition["errorMessage"])
    if rule == "type":
        return f"must be of type {definition.get('type')}"
    if rule == "enum":
        return f"must be one of {definition.get('enum')}"
    if rule in _BOUNDS:
        return f"breaks {rule}={definition.get(rule)}"
    if rule == "pattern":
        return "has characters or a form that is not allowed"
    if rule == "uniqueItems":
        return "must not name the same value twice"
    return f"breaks the schema rule '{rule}'"


def _describe(exc: Any, instance: Any) -> tuple[str, str]:
    """Turn a fastjsonschema error into (field path, problem) without the offending value."""
    parts = list(exc.path[1:])
    path = ".".join(str(p) for p in parts)
    key = _bad_key(exc.rule, exc.definition, _node_at(instance, parts))
    if key is not None:
        name, problem = key
        return (f"{path}.{name}" if path else name) if name else path, problem
    return path, _problem(exc.rule, exc.definition)


def validate(document: Any, schema_name: str, label: str) -> None:
    """Raise SecretFormatError naming the first bad field of ``document``."""
    import fastjsonschema

    try:
        # A present field's own problem first: a cross-field rule checked before it would
        # blame another field ("strategy": "x" reported as a rule about 'accounts').
        _validator(schema_name, fields_only=True)(document)
        _validator(schema_name)(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        field_path, problem = _describe(exc, document)
        raise SecretFormatError(label, field_path, problem) from None
    except RecursionError:
        # A document nested just short of the parser's limit can exhaust the stack here.
        raise SecretFormatError(label, "", "is nested too deeply") from None


def load_json_object(secret_string: str | None, label: str) -> dict[str, Any]:
    """Parse a SecretString into a JSON object, with errors that never quote it."""
    if secret_string is None:
        raise SecretFormatError(label, "", "has no SecretString (binary secrets are not supported)")
    if len(secret_string.encode("utf-8", "surrogatepass")) > MAX_SECRET_BYTES:
        raise SecretFormatError(label, "", f"is larger than {MAX_SECRET_BYTES} bytes")
    try:
        document = json.loads(secret_string)
    except json.JSONDecodeError as exc:
        # The decoder's exception holds the whole document: not chained, only its position.
        raise SecretFormatError(
            label, "", f"is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        # "[[[[..." fits in 64 KiB and exhausts the decoder's stack: a format error too.
        raise SecretFormatError(label, "", "is nested too deeply") from None
    if not isinstance(document, dict):
        raise SecretFormatError(label, "", "must be a JSON object")
    return document
