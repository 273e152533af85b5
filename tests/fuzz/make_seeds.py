#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) and the
inputs of the problems found so far (tests/fuzz/regressions/<target>/).
Run with Debian's /usr/bin/python3 (PIL). The files are committed; this script is
kept so they can be remade and read."""
import gzip, io, json, os, struct
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))

def put(kind, target, name, data):
    folder = os.path.join(HERE, kind, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)

def safetensors(tensors, metadata=None):
    header, blobs, offset = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + blobs

def raw_header(text):
    return struct.pack("<Q", len(text)) + text

f32 = lambda *v: struct.pack("<%df" % len(v), *v)
f64 = lambda *v: struct.pack("<%dd" % len(v), *v)
i64 = lambda *v: struct.pack("<%dq" % len(v), *v)

# ---- safetensors (also what xgrad::load reads into a Linear(3, 2)) ----------------
put("corpus", "safetensors", "linear", safetensors({"weight": ("F32", [2, 3], f32(*range(6))),
                                                    "bias": ("F32", [2], f32(1, 2))}))
put("corpus", "safetensors", "dtypes", safetensors({"a": ("F64", [2], f64(1, 2)), "b": ("I64", [1, 1], i64(7)),
                                                    "c": ("F32", [], f32(3))}, {"format": "pt"}))
put("corpus", "safetensors", "empty", safetensors({"z": ("F32", [2, 0], b"")}))
put("regressions", "safetensors", "huge-number", raw_header(b'{"t":1e400}'))
put("regressions", "safetensors", "deep-nesting", raw_header(b"[" * 100000))
put("regressions", "safetensors", "many-dims", safetensors({"t": ("F32", [1] * 100000, f32(1))}))
put("regressions", "safetensors", "zero-size", safetensors({"t": ("F32", [2, 0], b"")}))
put("regressions", "safetensors", "overlap", raw_header(
    b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
    + f32(1))
# (20,000 tensors, quadratic before: made in code by tests/test_io_hostile.cpp)

# ---- checkpoints ------------------------------------------------------------------
meta = {"xgrad.checkpoint": "1", "xgrad.epoch": "3", "xgrad.rng_state": "", "extra.note": "seed"}
put("corpus", "checkpoint", "small", safetensors({"model.weight": ("F32", [2, 2], f32(1, 2, 3, 4)),
                                                  "optimizer.step": ("I64", [], i64(5))}, meta))
put("regressions", "checkpoint", "huge-number", raw_header(b'{"__metadata__":{"xgrad.epoch":1e400}}'))

# ---- IDX (first byte: bit 0 images, bit 1 a .gz name) ---------------------------
images = struct.pack(">IIII", 2051, 2, 3, 3) + bytes(range(18))
labels = struct.pack(">II", 2049, 3) + bytes([0, 1, 9])
put("corpus", "idx", "images", b"\x01" + images)
put("corpus", "idx", "images-gz", b"\x03" + gzip.compress(images, mtime=0))
put("corpus", "idx", "labels", b"\x00" + labels)
put("corpus", "idx", "labels-gz", b"\x02" + gzip.compress(labels, mtime=0))
put("regressions", "idx", "huge-dims", b"\x01" + struct.pack(">IIII", 2051, 0, 0xFFFFFFFF, 0xFFFFFFFF))
put("regressions", "idx", "zero-images", b"\x01" + struct.pack(">IIII", 2051, 0, 5, 5))
put("regressions", "idx", "many-labels-gz", b"\x02" + gzip.compress(struct.pack(">II", 2049, 0xFFFFFFFF) + bytes(4096), mtime=0))

# ---- CIFAR-10 ---------------------------------------------------------------------
put("corpus", "cifar10", "one-record", bytes([3]) + bytes(i % 256 for i in range(3072)))
put("corpus", "cifar10", "two-records", bytes([0]) + bytes(3072) + bytes([9]) + bytes([255]) * 3072)

# ---- images (first byte: channels 0, 1, 3, 4 by its value mod 4) ----------------
def encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()

rgb = Image.new("RGB", (5, 4))
rgb.putdata([(i * 10 % 256, i * 37 % 256, i * 91 % 256) for i in range(20)])
put("corpus", "image", "rgb.png", b"\x00" + encoded(rgb, "PNG"))
put("corpus", "image", "rgba.png", b"\x03" + encoded(rgb.convert("RGBA"), "PNG"))
put("corpus", "image", "gray.png", b"\x01" + encoded(rgb.convert("L"), "PNG"))
put("corpus", "image", "gray-alpha.png", b"\x00" + encoded(rgb.convert("LA"), "PNG"))
put("corpus", "image", "palette.png", b"\x02" + encoded(rgb.convert("P"), "PNG"))
put("corpus", "image", "bits1.png", b"\x00" + encoded(rgb.convert("1"), "PNG"))
gray16 = Image.new("I;16", (5, 4))
gray16.putdata([i * 3000 for i in range(20)])
put("corpus", "image", "gray16.png", b"\x00" + encoded(gray16, "PNG"))
put("corpus", "image", "rgb.jpg", b"\x00" + encoded(rgb, "JPEG", quality=90))
put("corpus", "image", "gray.jpg", b"\x02" + encoded(rgb.convert("L"), "JPEG"))
put("corpus", "image", "progressive.jpg", b"\x00" + encoded(rgb, "JPEG", progressive=True))
put("corpus", "image", "subsampled.jpg", b"\x01" + encoded(Image.new("RGB", (17, 9), (200, 10, 30)), "JPEG", subsampling=2))

png = encoded(rgb, "PNG")
idat = png.index(b"IDAT") - 4
iend = png.index(b"IEND") - 4
def chunk(kind, data):
    import zlib
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
put("regressions", "image", "empty-idat.png", b"\x00" + png[:idat] + chunk(b"IDAT", b"") + png[iend:])
put("regressions", "image", "truncated.png", b"\x00" + png[: idat + 20])
ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
put("regressions", "image", "huge-claim.png", b"\x00" + png[:8] + chunk(b"IHDR", ihdr) + png[idat:])
ihdr = struct.pack(">IIBBBBB", 8000, 8000, 8, 2, 0, 0, 0)
put("regressions", "image", "claim-8000.png", b"\x00" + png[:8] + chunk(b"IHDR", ihdr) + png[idat:])
jpg = encoded(rgb, "JPEG")
put("regressions", "image", "truncated.jpg", b"\x00" + jpg[: len(jpg) // 2])
# A Huffman table (DHT) whose code counts add up to more than 256 symbols
# (stb_image 2.27 wrote past its tables on this; nothings/stb#1289).
dht = b"\xff\xc4" + struct.pack(">H", 2 + 17 + 16) + b"\x00" + bytes([255] * 16) + bytes(16)
put("regressions", "image", "huffman-overflow.jpg", b"\x00" + b"\xff\xd8" + dht + b"\xff\xd9")
put("regressions", "image", "pnm.pgm", b"\x00" + b"P5 40000 40000 255\n" + bytes(10))
