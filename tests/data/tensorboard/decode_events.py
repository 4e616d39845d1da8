"""Decodes a TensorBoard event file with a decoder protoc generated from event.proto / summary.proto (argv[1]
holds the generated *_pb2.py), printing one JSON object per event. Independent of vgsplat's writer: framing as
TFRecord documents it (uint64 length, uint32 CRC, payload, uint32 CRC), messages parsed by protobuf. Where the
`tensorboard` package is installed, its EventAccumulator reads the file too and the scalars it sees are printed.
  python3 decode_events.py GENERATED_DIR EVENT_FILE"""
import json
import struct
import sys

sys.path.insert(0, sys.argv[1])
import event_pb2  # noqa: E402

with open(sys.argv[2], "rb") as f:
    data = f.read()
pos = 0
while pos < len(data):
    (n,) = struct.unpack_from("<Q", data, pos)
    payload = data[pos + 12:pos + 12 + n]
    pos += 12 + n + 4
    e = event_pb2.Event()
    e.ParseFromString(payload)
    out = {"wall_time": e.wall_time, "step": e.step}
    if e.HasField("file_version"):
        out["file_version"] = e.file_version
    for v in e.summary.value:
        if v.HasField("simple_value"):
            out.setdefault("scalars", {})[v.tag] = v.simple_value
        if v.HasField("image"):
            im = v.image
            out.setdefault("images", {})[v.tag] = [im.height, im.width, im.colorspace, len(im.encoded_image_string),
                                                   im.encoded_image_string[:8].hex()]
    print(json.dumps(out))
try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError:
    sys.exit(0)
acc = EventAccumulator(sys.argv[2])
acc.Reload()
for tag in acc.Tags()["scalars"]:
    print(json.dumps({"accumulator": tag, "values": [[s.step, s.value] for s in acc.Scalars(tag)]}))
