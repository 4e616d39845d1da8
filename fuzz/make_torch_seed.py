#!/usr/bin/env python3
"""make_torch_seed.py OUT_DIR: a small torch.save zip archive and a legacy (pre-1.6) file, fuzz seeds made without
torch: Python's own pickle writes the persistent ids and torch._utils._rebuild_tensor_v2 calls that torch.save
emits, through stand-in modules."""
import collections
import io
import pickle
import struct
import sys
import types
import zipfile

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
for name in ("FloatStorage", "HalfStorage", "LongStorage"):
    setattr(torch, name, type(name, (), {"__module__": "torch"}))


def _rebuild_tensor_v2(*args):
    raise RuntimeError("stand-in")


_rebuild_tensor_v2.__module__ = "torch._utils"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2
sys.modules.update({"torch": torch, "torch._utils": utils})


class Storage:
    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class Pickler(pickle.Pickler):
    legacy = False

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            pid = ("storage", getattr(torch, obj.kind), obj.key, "cpu", obj.numel)
            return pid + (None,) if self.legacy else pid
        return None


f32, f16, i64 = Storage("FloatStorage", "0", 6), Storage("HalfStorage", "1", 2), Storage("LongStorage", "2", 2)
state = collections.OrderedDict(
    [("w", Tensor(f32, 0, (2, 3), (3, 1))), ("w_t", Tensor(f32, 0, (3, 2), (1, 3))),
     ("h", Tensor(f16, 0, (2,), (1,))), ("sub", {"n": Tensor(i64, 1, (1,), (1,))})])
raw = {"0": struct.pack("<6f", 1, 2, 3, 4, 5, 6), "1": struct.pack("<2H", 0x3C00, 0xC000),
       "2": struct.pack("<2q", 10, -20)}
buf = io.BytesIO()
Pickler(buf, protocol=2).dump(state)
with zipfile.ZipFile(sys.argv[1] + "/state_dict_zip.pt", "w", zipfile.ZIP_STORED) as z:
    z.writestr("m/data.pkl", buf.getvalue())
    z.writestr("m/byteorder", "little")
    for key, data in raw.items():
        z.writestr("m/data/" + key, data)
    z.writestr("m/version", "3\n")

# Legacy: magic number, protocol 1001, sys_info, the object, the storage keys, then per key numel + raw bytes.
with open(sys.argv[1] + "/state_dict_legacy.pt", "wb") as f:
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(obj, f, protocol=2)
    p = Pickler(f, protocol=2)
    p.legacy = True
    p.dump(state)
    pickle.dump(list(raw), f, protocol=2)
    for key, data in raw.items():
        f.write(struct.pack("<q", len(data) // {"0": 4, "1": 2, "2": 8}[key]) + data)
