#!/usr/bin/env python3
"""Dumps (message, field, number, label, type, default, ...) facts from a
protobuf FileDescriptorSet as TSV. Used at dev time on descriptors of the
Apache Mesos 1.11 .proto files; see common/tests/proto_facts.rs.

Usage: dump_proto_facts.py <descriptor_set.pb> > facts.tsv
Needs the `protobuf` Python package.
"""
import sys
from google.protobuf import descriptor_pb2 as d

FDP = d.FieldDescriptorProto
LABEL = {FDP.LABEL_OPTIONAL: "optional", FDP.LABEL_REQUIRED: "required",
         FDP.LABEL_REPEATED: "repeated"}


def type_name(f):
    if f.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM, FDP.TYPE_GROUP):
        return f.type_name.lstrip(".")
    return FDP.Type.Name(f.type)[len("TYPE_"):].lower()


def walk(out, scope, messages, enums):
    for e in enums:
        full = scope + "." + e.name
        for v in e.value:
            dep = "deprecated" if v.options.deprecated else "-"
            out.append(f"E\t{full}\t{v.name}\t{v.number}\t{dep}")
    for m in messages:
        full = scope + "." + m.name
        out.append(f"M\t{full}")
        for f in m.field:
            label = LABEL[f.label]
            if f.proto3_optional or f.HasField("oneof_index") and not f.proto3_optional:
                oneof = m.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else "-"
            else:
                oneof = "-"
            default = f.default_value if f.HasField("default_value") else "-"
            dep = "deprecated" if f.options.deprecated else "-"
            out.append(f"F\t{full}\t{f.name}\t{f.number}\t{label}\t{type_name(f)}\t{default}\t{dep}\t{oneof}")
        walk(out, full, m.nested_type, m.enum_type)


def main():
    fds = d.FileDescriptorSet()
    with open(sys.argv[1], "rb") as fh:
        fds.ParseFromString(fh.read())
    out = []
    for f in fds.file:
        if f.package.startswith("google.protobuf"):
            continue
        walk(out, f.package, f.message_type, f.enum_type)
    out.sort()
    sys.stdout.write("# kind\tname\t...\n")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
