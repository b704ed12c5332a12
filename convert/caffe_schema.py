"""The subset of Caffe's protobuf schema (``caffe.proto``) that deploy nets like ECCV16 and the
user-guided net (SIGGRAPH 2017) use.

The schema is the data file ``caffe_subset.proto`` (Caffe's own proto2 syntax, one declaration per
line), turned into protobuf message classes at import time, so reading Caffe files needs neither
Caffe, ``protoc`` nor generated ``_pb2`` code (whose runtime version checks break across protobuf
releases). Field numbers, types and defaults are those of BVLC Caffe's
``src/caffe/proto/caffe.proto``; a binary caffemodel that carries fields not declared
here still parses (protobuf keeps them as unknown fields), and they are not needed for conversion.

Usage::

    net = caffe_schema.NetParameter()            # a protobuf message class
    caffe_schema.NetParameter.FromString(data)
"""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "bool": _F.TYPE_BOOL,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
}

SCHEMA_FILE = Path(__file__).with_name("caffe_subset.proto")
_ENUM = re.compile(r"enum (\w+) \{((?: \w+ = \d+;)+) \}")
_FIELD = re.compile(r"(optional|repeated) (\w+) (\w+) = (\d+)(?: \[(packed = true|default = [^\]]+)\])?;")


def read_schema(text: str) -> tuple[dict[str, list[str]], dict[str, list[tuple]]]:
    """The proto2 text of SCHEMA_FILE (one enum, field, or message start or end per line; comments
    after //) -> (ENUMS: enum name -> value names in order, value = index; MESSAGES: message name ->
    fields as (label, type, name, number, default or None), label "optional", "repeated" or
    "packed" (a repeated scalar written packed, as Caffe declares)). ValueError for any other line."""
    enums: dict[str, list[str]] = {}
    messages: dict[str, list[tuple]] = {}
    for line in text.splitlines():
        line = line.split("//")[0].strip()
        if line.startswith("message ") and line.endswith("{"):
            fields = messages[line.split()[1]] = []
        elif enum := _ENUM.fullmatch(line):
            values = [value.split(" = ") for value in enum[2].strip(" ;").split("; ")]
            if [int(number) for _, number in values] != list(range(len(values))):
                raise ValueError(f"{SCHEMA_FILE.name}: enum {enum[1]}'s values must be numbered 0, 1, 2 ...")
            enums[enum[1]] = [name for name, _ in values]
        elif field := _FIELD.fullmatch(line):
            label, type_, name, number, option = field.groups()
            packed = option == "packed = true"
            default = option.split(" = ", 1)[1].strip('"') if option and not packed else None
            fields.append(("packed" if packed else label, type_, name, int(number), default))
        elif line not in ("", "}", 'syntax = "proto2";', "package caffe;"):
            raise ValueError(f"{SCHEMA_FILE.name}: cannot read {line!r}")
    return enums, messages


ENUMS, MESSAGES = read_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


def _field(label: str, type_: str, name: str, number: int, default: str | None) -> descriptor_pb2.FieldDescriptorProto:
    """One FieldDescriptorProto from a field of MESSAGES."""
    field = _F(name=name, number=number)
    field.label = _F.LABEL_OPTIONAL if label == "optional" else _F.LABEL_REPEATED
    if type_ in _SCALARS:
        field.type = _SCALARS[type_]
    elif type_ in ENUMS:
        field.type, field.type_name = _F.TYPE_ENUM, f".caffe.{type_}"
    else:
        field.type, field.type_name = _F.TYPE_MESSAGE, f".caffe.{type_}"
    if default is not None:
        field.default_value = default
    if label == "packed":
        field.options.packed = True
    return field


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The whole schema as one proto2 file descriptor in package ``caffe``."""
    proto = descriptor_pb2.FileDescriptorProto(name="caffe_subset.proto", package="caffe", syntax="proto2")
    for enum_name, values in ENUMS.items():
        enum = proto.enum_type.add(name=enum_name)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    for message_name, fields in MESSAGES.items():
        proto.message_type.add(name=message_name).field.extend(_field(*row) for row in fields)
    return proto


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file_descriptor())


def _message_class(name: str):
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"caffe.{name}"))


NetParameter = _message_class("NetParameter")
LayerParameter = _message_class("LayerParameter")
BlobProto = _message_class("BlobProto")
BlobShape = _message_class("BlobShape")
