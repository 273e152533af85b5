#!/usr/bin/python3
"""Writes the PyTorch checkpoint fixtures of tests/test_io_torch.cpp into this folder.

Run once with Debian's /usr/bin/python3 (python3-torch, python3-torchvision); the files
are committed so the tests never need Python. Each *.pth that should load has a
<name>.expected.safetensors beside it holding what xgrad::load_torch must return
(f16/bf16 as f32, integer and bool storages as i64), or, for the models, the input
and PyTorch's logits in evaluation mode. The refused files carry shell commands that
would create /tmp/xgrad-pwned-<name> if anything executed them."""
import collections, io, json, os, pickle, struct, zipfile, zlib

import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)


def path(name):
    return os.path.join(HERE, name)


def write_safetensors(tensors, name):
    codes = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    header, blobs = {}, b""
    for key, t in tensors.items():
        t = t.detach().contiguous()
        raw = t.numpy().tobytes()
        header[key] = {"dtype": codes[t.dtype], "shape": list(t.shape),
                       "data_offsets": [len(blobs), len(blobs) + len(raw)]}
        blobs += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path(name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + blobs)


def as_loaded(t):
    """What load_torch returns for t: f32/f64/i64 as stored, f16/bf16 as f32, ints and bool as i64."""
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.float()
    if t.dtype in (torch.float32, torch.float64, torch.int64):
        return t
    return t.long()


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
        elif isinstance(v, torch.Tensor):
            out[prefix + k] = as_loaded(v)
    return out


# ---- tensors of every storage type and layout --------------------------------------
base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
dtypes = collections.OrderedDict()
dtypes["f32"] = torch.randn(2, 3)
dtypes["f64"] = torch.randn(3, dtype=torch.float64)
dtypes["f16"] = (torch.randn(2, 2) * 100).half()
dtypes["bf16"] = (torch.randn(5) * 1e3).bfloat16()
dtypes["i64"] = torch.tensor([-(2 ** 62), -1, 0, 2 ** 62 + 5])
dtypes["i32"] = torch.tensor([-(2 ** 31), 7, 2 ** 31 - 1], dtype=torch.int32)
dtypes["i16"] = torch.tensor([-32768, 3, 32767], dtype=torch.int16)
dtypes["i8"] = torch.tensor([-128, 5, 127], dtype=torch.int8)
dtypes["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
dtypes["bool"] = torch.tensor([True, False, True])
dtypes["scalar"] = torch.tensor(2.5)
dtypes["empty"] = torch.zeros(0, 3)
dtypes["transposed"] = base.t()                     # strides (1, 6)
dtypes["sliced"] = base[1:3, 2:5]                   # offset 8, strides (6, 1)
dtypes["stepped"] = base[::2, ::3]                  # strides (12, 3)
dtypes["expanded"] = torch.tensor([1.0, 2.0, 3.0]).expand(2, 3)  # stride 0
dtypes["shared_whole"] = base                       # shares its storage with the three views above
dtypes["half_view"] = dtypes["f16"].t()
dtypes["parameter"] = nn.Parameter(torch.randn(3, 2))
torch.save(dtypes, path("dtypes.pth"))
torch.save(dtypes, path("dtypes_legacy.pth"), _use_new_zipfile_serialization=False)
torch.save(dtypes, path("dtypes_protocol4.pth"), pickle_protocol=4)
stream = io.BytesIO()
torch.save(dtypes, stream)                          # top folder "archive"
with open(path("dtypes_stream.pth"), "wb") as f:
    f.write(stream.getvalue())
write_safetensors(flatten(dtypes), "dtypes.expected.safetensors")

nested = {"model": collections.OrderedDict(w=torch.randn(2, 2), inner={"b": torch.ones(3)}),
          "epoch": 3, "lr": 0.1, "name": "run", "history": [1.0, 2.0]}
torch.save(nested, path("nested.pth"))
write_safetensors(flatten(nested), "nested.expected.safetensors")


# ---- models: LeNet-5 and a torchvision ResNet-18 with tiny widths --------------------
class LeNet5(nn.Module):  # the layout of xgrad::models::LeNet5
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                        nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class TinyResNet18(torchvision.models.ResNet):
    """torchvision's ResNet-18 (its BasicBlock, names and stem) with widths 4, 8, 16, 32."""
    def __init__(self, widths=(4, 8, 16, 32), num_classes=10):
        nn.Module.__init__(self)
        block = torchvision.models.resnet.BasicBlock
        self._norm_layer, self.dilation, self.groups, self.base_width = nn.BatchNorm2d, 1, 1, 64
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], 2)
        self.layer2 = self._make_layer(block, widths[1], 2, stride=2)
        self.layer3 = self._make_layer(block, widths[2], 2, stride=2)
        self.layer4 = self._make_layer(block, widths[3], 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], num_classes)


def with_batch_statistics(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.num_batches_tracked.fill_(17)
    return model.eval()


for name, model, shape in [("lenet5", LeNet5().eval(), (2, 1, 28, 28)),
                           ("resnet18_tiny", with_batch_statistics(TinyResNet18()), (2, 3, 32, 32))]:
    x = torch.randn(*shape)
    with torch.no_grad():
        logits = model(x)
    torch.save(model.state_dict(), path(name + ".pth"))
    write_safetensors({"input": x, "logits": logits}, name + ".expected.safetensors")
torch.save(with_batch_statistics(TinyResNet18()).state_dict(), path("resnet18_tiny_legacy.pth"),
           _use_new_zipfile_serialization=False)


# ---- refused: a whole pickled model, a TorchScript archive ---------------------------
class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


torch.save(Tiny(), path("whole_model.pth"))
torch.jit.save(torch.jit.script(Tiny()), path("torchscript.pt"))


# ---- malicious files -----------------------------------------------------------------
def marker(name):
    return "/tmp/xgrad-pwned-" + name


class Call:
    """Pickles as a call of `function` on `args` (what an attacker writes)."""
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def zip_with_pickle(name, payload, extra=()):
    with zipfile.ZipFile(path(name + ".pth"), "w", zipfile.ZIP_STORED) as z:
        z.writestr(name + "/data.pkl", payload)
        for entry, data in extra:
            z.writestr(name + "/" + entry, data)
        z.writestr(name + "/version", "3\n")


def text_global(module, attribute):  # protocol-2 GLOBAL opcode by hand
    return b"c" + module.encode() + b"\n" + attribute.encode() + b"\n"


def command_call(function_global, command):
    arg = command.encode()
    return (b"\x80\x02" + function_global + b"X" + struct.pack("<I", len(arg)) + arg + b"\x85R.")


zip_with_pickle("os_system", command_call(text_global("os", "system"), "touch " + marker("os_system")))
zip_with_pickle("posix_system", pickle.dumps(Call(os.system, "touch " + marker("posix_system")), protocol=2))
zip_with_pickle("builtins_eval", command_call(text_global("builtins", "eval"),
                                              "open('%s', 'w')" % marker("builtins_eval")))
zip_with_pickle("stack_global", pickle.dumps(Call(os.system, "touch " + marker("stack_global")), protocol=4))
# A legitimate tensor first, then a call hidden two levels down in a value.
hidden = collections.OrderedDict(w=torch.ones(2))
hidden["x"] = [{"y": Call(os.system, "touch " + marker("nested_reduce"))}]
buffer = io.BytesIO()
torch.save(hidden, buffer)
with zipfile.ZipFile(buffer) as z:
    entries = {i.filename.split("/", 1)[1]: z.read(i) for i in z.infolist()}
zip_with_pickle("nested_reduce", entries["data.pkl"], [(k, v) for k, v in entries.items() if k.startswith("data/")])
# The legacy layout: magic, protocol, system info, then the evil pickle.
with open(path("legacy_system.pth"), "wb") as f:
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True,
                                                  "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(header, f, protocol=2)
    pickle.dump(Call(os.system, "touch " + marker("legacy_system")), f, protocol=2)


# Tensors whose rebuild arguments ask for more than the storage holds.
def rebuild_pickle(size, stride, offset=0, numel=4, storage="FloatStorage"):
    class Rebuild:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (Persistent(), offset, size, stride, False,
                                                     collections.OrderedDict())

    class Persistent:
        pass

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Persistent):
                return ("storage", getattr(torch, storage), "0", "cpu", numel)
            return None

    out = io.BytesIO()
    Pickler(out, protocol=2).dump(collections.OrderedDict(t=Rebuild()))
    return out.getvalue()


four_floats = struct.pack("<4f", 1, 2, 3, 4)
zip_with_pickle("huge_shape", rebuild_pickle((2 ** 40, 2 ** 40), (2 ** 40, 1)), [("data/0", four_floats)])
zip_with_pickle("past_storage", rebuild_pickle((2, 3), (3, 1)), [("data/0", four_floats)])
zip_with_pickle("offset_past_storage", rebuild_pickle((1,), (1,), offset=4), [("data/0", four_floats)])
zip_with_pickle("negative_stride", rebuild_pickle((2,), (-1,), offset=1), [("data/0", four_floats)])
zip_with_pickle("storage_size_lies", rebuild_pickle((4,), (1,), numel=2 ** 61), [("data/0", four_floats)])
zip_with_pickle("missing_storage", rebuild_pickle((4,), (1,)))

with open(path("dtypes.pth"), "rb") as f:
    whole = f.read()
with open(path("truncated.pth"), "wb") as f:
    f.write(whole[: len(whole) // 2])
with open(path("dtypes_legacy.pth"), "rb") as f:
    legacy = f.read()
with open(path("truncated_legacy.pth"), "wb") as f:
    f.write(legacy[: len(legacy) - 7])

# Zip bombs, written by hand: a local entry for the pickle, one for a deflated run of
# zeros, and central directory records that name storages data/0..data/<n-1>.
def keyed_pickle(count, numel):
    class KeyedStorage:
        def __init__(self, key):
            self.key = key

    class KeyedRebuild:
        def __init__(self, key):
            self.key = key

        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (KeyedStorage(self.key), 0, (numel,), (1,), False,
                                                     collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, KeyedStorage):
                return ("storage", torch.FloatStorage, str(obj.key), "cpu", numel)
            return None

    out = io.BytesIO()
    Pickler(out, protocol=2).dump(collections.OrderedDict(("t%d" % i, KeyedRebuild(i)) for i in range(count)))
    return out.getvalue()


def bomb(name, count, run, claimed):
    zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = zeros.compress(b"\0" * run) + zeros.flush()
    crc = zlib.crc32(b"\0" * run)
    pkl = keyed_pickle(count, claimed // 4)
    top = name.encode()

    def local_entry(entry, payload, method, crc, size):
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(payload), size,
                           len(entry), 0) + entry + payload

    body = local_entry(top + b"/data.pkl", pkl, 0, zlib.crc32(pkl), len(pkl))
    zeros_offset = len(body)
    body += local_entry(top + b"/data/0", compressed, 8, crc, claimed)
    entries = [(top + b"/data.pkl", 0, zlib.crc32(pkl), len(pkl), len(pkl), 0)]
    entries += [(top + b"/data/%d" % i, 8, crc, len(compressed), claimed, zeros_offset) for i in range(count)]
    central = b"".join(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, csize, size,
                                   len(entry), 0, 0, 0, 0, 0, offset) + entry
                       for entry, method, crc, csize, size, offset in entries)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0)
    with open(path(name + ".pth"), "wb") as f:
        f.write(body + central + end)


bomb("zip_bomb_overlap", 64, 16 << 20, 16 << 20)  # 64 storages of 16 MiB over one 16 KB stream
bomb("zip_bomb_claim", 1, 1 << 20, 0xFFFFFFFC)     # one entry claiming 4 GiB, holding 1 MiB
# Seeds of the fuzz target tests/fuzz/fuzz_torch.cpp: the small files that load, and a
# few that are refused late (after their pickle parsed).
seeds = os.path.join(HERE, "..", "..", "fuzz", "corpus", "torch")
os.makedirs(seeds, exist_ok=True)
for name in ["dtypes.pth", "dtypes_legacy.pth", "dtypes_protocol4.pth", "nested.pth", "past_storage.pth",
             "storage_size_lies.pth", "nested_reduce.pth"]:
    with open(path(name), "rb") as f, open(os.path.join(seeds, name), "wb") as out:
        out.write(f.read())
print("wrote", sorted(os.listdir(HERE)))
