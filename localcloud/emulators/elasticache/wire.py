"""The AWS Query protocol of ElastiCache, driven by botocore's own service model: form
parameters (``Passwords.member.1``) read into the shapes of an operation's input, answers
written as the XML its output shape names (``<NodeGroup>``, ``<member>``), errors as AWS's
``<ErrorResponse>``. boto3 parses what this writes, so the model is the contract."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import botocore.session
from botocore.model import ListShape, OperationModel, ServiceModel, Shape, StructureShape

SERVICE: ServiceModel = botocore.session.get_session().get_service_model("elasticache")
NAMESPACE = SERVICE.metadata["xmlNamespace"]
VERSION = SERVICE.metadata["apiVersion"]
XML_HEADERS = {"Content-Type": "text/xml"}


class WireError(Exception):
    """A request the protocol itself refuses: AWS's code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def operation(action: str) -> OperationModel:
    return SERVICE.operation_model(action)


def read_input(action: str, params: Mapping[str, str]) -> dict[str, Any]:
    """``params`` (the flat form) as the nested input of ``action``; MissingParameter for a
    required member that is absent, InvalidParameterValue for a value of the wrong type."""
    shape = operation(action).input_shape
    assert isinstance(shape, StructureShape)
    return _read_structure(shape, params, "")


def _read_structure(
    shape: StructureShape, params: Mapping[str, str], prefix: str
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = _read(member, params, prefix + member.serialization.get("name", name))
        if value is not None:
            found[name] = value
    for name in shape.required_members:
        if name not in found:
            raise WireError("MissingParameter", f"The request must contain the parameter {name}")
    return found


def _read(shape: Shape, params: Mapping[str, str], key: str) -> Any:
    if isinstance(shape, StructureShape):
        if not _present(params, key + "."):
            return None
        return _read_structure(shape, params, key + ".")
    if isinstance(shape, ListShape):
        item = shape.member.serialization.get("name", "member")
        items, index = [], 1
        while f"{key}.{item}.{index}" in params or _present(params, f"{key}.{item}.{index}."):
            items.append(_read(shape.member, params, f"{key}.{item}.{index}"))
            index += 1
        # An empty list is sent as the bare name ("Passwords=").
        return items if items or key in params else None
    raw = params.get(key)
    if raw is None:
        return None
    if shape.type_name == "boolean":
        if raw not in ("true", "false"):
            raise WireError("InvalidParameterValue", f"{key} must be true or false")
        return raw == "true"
    if shape.type_name in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            raise WireError("InvalidParameterValue", f"{key} must be an integer") from None
    return raw


def _present(params: Mapping[str, str], prefix: str) -> bool:
    return any(k.startswith(prefix) for k in params)


def answer(action: str, result: Mapping[str, Any]) -> bytes:
    """The XML answer of ``action``: ``result`` written as its output shape says."""
    model = operation(action)
    root = ElementTree.Element(f"{action}Response", xmlns=NAMESPACE)
    output = model.output_shape
    if output is not None:
        wrapper = ElementTree.SubElement(root, output.serialization["resultWrapper"])
        assert isinstance(output, StructureShape)
        _write_members(wrapper, output, result)
    metadata = ElementTree.SubElement(root, "ResponseMetadata")
    ElementTree.SubElement(metadata, "RequestId").text = str(uuid.uuid4())
    return _bytes(root)


def _write_members(
    parent: ElementTree.Element, shape: StructureShape, value: Mapping[str, Any]
) -> None:
    for name, member in shape.members.items():
        if name in value and value[name] is not None:
            tag = member.serialization.get("name", name)
            _write(ElementTree.SubElement(parent, tag), member, value[name])


def _write(element: ElementTree.Element, shape: Shape, value: Any) -> None:
    if isinstance(shape, StructureShape):
        _write_members(element, shape, value)
    elif isinstance(shape, ListShape):
        item = shape.member.serialization.get("name", "member")
        for entry in value:
            _write(ElementTree.SubElement(element, item), shape.member, entry)
    elif shape.type_name == "boolean":
        element.text = "true" if value else "false"
    elif shape.type_name == "timestamp":
        assert isinstance(value, datetime)
        element.text = value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    else:
        element.text = str(value)


def error(code: str, message: str) -> bytes:
    """AWS Query's error document (a sender fault: the request was wrong)."""
    root = ElementTree.Element("ErrorResponse", xmlns=NAMESPACE)
    detail = ElementTree.SubElement(root, "Error")
    ElementTree.SubElement(detail, "Type").text = "Sender"
    ElementTree.SubElement(detail, "Code").text = code
    ElementTree.SubElement(detail, "Message").text = message
    ElementTree.SubElement(root, "RequestId").text = str(uuid.uuid4())
    return _bytes(root)


def status_of(code: str) -> int:
    """The HTTP status of error ``code``: the service model's, else 400 (AWS's common errors
    are 400, the signature ones 403)."""
    for shape_name in SERVICE.error_shapes:
        metadata = shape_name.metadata.get("error", {})
        if metadata.get("code") == code:
            return int(metadata.get("httpStatusCode", 400))
    return 403 if code in ("SignatureDoesNotMatch", "InvalidClientTokenId") else 400


def _bytes(root: ElementTree.Element) -> bytes:
    text: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return text
