#!/usr/bin/env python3
"""Reads TensorBoard event files and prints their scalars, one JSON object per line:
{"file": ..., "wall_time": ..., "step": ..., "tag": ..., "value": ...}.

    /usr/bin/python3 tools/read_tfevents.py DIR_OR_FILE...

Needs only google.protobuf (Debian's python3-protobuf), not TensorFlow or TensorBoard. It follows
the file format on its own: each record is a little-endian uint64 length, the masked CRC-32C of
those 8 bytes, the data, and the masked CRC-32C of the data (every CRC is checked); the data is an
Event protobuf whose definition is built here from TensorFlow's event.proto and summary.proto field
numbers (the fields this reader has no use for keep their numbers so they parse, or are skipped as
unknown fields). A bad record ends the script with exit code 1 and a message naming the file and
the byte offset. qforge's tests use it to check `--log.tensorboard` output against metrics.jsonl.
"""
import json
import os
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool

try:
    from google.protobuf import message_factory
    _get_class = getattr(message_factory, "GetMessageClass", None)
except ImportError:  # pragma: no cover
    _get_class = None


def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(data):
    c = _crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _event_class():
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="tfevents_reader.proto", package="tfreader",
                                             syntax="proto3")

    def message(name, fields, oneof=None, members=()):
        m = fdp.message_type.add(name=name)
        if oneof:
            m.oneof_decl.add(name=oneof)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
            if fname in members:
                f.oneof_index = 0

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    # tensorflow/core/framework/summary.proto: Summary.Value, its payload a oneof (image, histo,
    # audio, tensor and metadata are messages in TensorFlow; bytes here, the same wire data).
    message("Value", [("node_name", 7, F.TYPE_STRING, opt, None),
                      ("tag", 1, F.TYPE_STRING, opt, None),
                      ("metadata", 9, F.TYPE_BYTES, opt, None),
                      ("simple_value", 2, F.TYPE_FLOAT, opt, None),
                      ("obsolete_old_style_histogram", 3, F.TYPE_BYTES, opt, None),
                      ("image", 4, F.TYPE_BYTES, opt, None),
                      ("histo", 5, F.TYPE_BYTES, opt, None),
                      ("audio", 6, F.TYPE_BYTES, opt, None),
                      ("tensor", 8, F.TYPE_BYTES, opt, None)],
            "value", ("simple_value", "obsolete_old_style_histogram", "image", "histo", "audio",
                      "tensor"))
    message("Summary", [("value", 1, F.TYPE_MESSAGE, rep, ".tfreader.Value")])
    # tensorflow/core/util/event.proto: Event.
    message("Event", [("wall_time", 1, F.TYPE_DOUBLE, opt, None),
                      ("step", 2, F.TYPE_INT64, opt, None),
                      ("file_version", 3, F.TYPE_STRING, opt, None),
                      ("graph_def", 4, F.TYPE_BYTES, opt, None),
                      ("summary", 5, F.TYPE_MESSAGE, opt, ".tfreader.Summary"),
                      ("log_message", 6, F.TYPE_BYTES, opt, None),
                      ("session_log", 7, F.TYPE_BYTES, opt, None),
                      ("tagged_run_metadata", 8, F.TYPE_BYTES, opt, None),
                      ("meta_graph_def", 9, F.TYPE_BYTES, opt, None)],
            "what", ("file_version", "graph_def", "summary", "log_message", "session_log",
                     "tagged_run_metadata", "meta_graph_def"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("tfreader.Event")
    if _get_class:
        return _get_class(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def _fail(path, offset, what):
    sys.stderr.write(f"read_tfevents: {path}: byte {offset}: {what}\n")
    sys.exit(1)


def read(path, event_cls):
    data = open(path, "rb").read()
    i, first = 0, True
    while i < len(data):
        if len(data) - i < 12:
            _fail(path, i, "truncated record header")
        header = data[i:i + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[i + 8:i + 12])
        if length_crc != _masked(header):
            _fail(path, i, "length CRC mismatch")
        if len(data) - i < 12 + length + 4:
            _fail(path, i, "truncated record")
        body = data[i + 12:i + 12 + length]
        (body_crc,) = struct.unpack("<I", data[i + 12 + length:i + 16 + length])
        if body_crc != _masked(body):
            _fail(path, i, "data CRC mismatch")
        event = event_cls()
        event.ParseFromString(body)
        if first and not event.file_version.startswith("brain.Event:"):
            _fail(path, i, "the first event has no file_version 'brain.Event:N'")
        first = False
        for v in event.summary.value:
            if v.HasField("simple_value"):
                print(json.dumps({"file": os.path.basename(path), "wall_time": event.wall_time,
                                  "step": event.step, "tag": v.tag, "value": v.simple_value}))
        i += 16 + length


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: read_tfevents.py DIR_OR_FILE...\n")
        sys.exit(2)
    event_cls = _event_class()
    for arg in sys.argv[1:]:
        files = [arg] if os.path.isfile(arg) else sorted(
            os.path.join(arg, f) for f in os.listdir(arg) if "tfevents" in f)
        for f in files:
            read(f, event_cls)


if __name__ == "__main__":
    main()
