#!/usr/bin/python3
"""Writes norms.pth and norms.expected.safetensors for tests/test_ops_norm_group.cpp: the
state_dict of a torch nn.Sequential(GroupNorm(2, 4), LayerNorm([3, 3]),
InstanceNorm2d(4, affine=True, track_running_stats=True), BatchNorm2d(4, momentum=None))
after two training steps (so num_batches_tracked = 2 and the running statistics are set),
and what xgrad must reproduce from it: the output in evaluation of `input`, and, after one
more training forward of `input`, that output and the running statistics (momentum None:
weight 1/3 for the third batch). Run with Debian's /usr/bin/python3; the files are committed."""
import json, os, struct

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def write_safetensors(tensors, name):  # as make_fixtures.py's (which needs torchvision)
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


torch.manual_seed(16)
net = nn.Sequential(nn.GroupNorm(2, 4), nn.LayerNorm([3, 3]),
                    nn.InstanceNorm2d(4, affine=True, track_running_stats=True), nn.BatchNorm2d(4, momentum=None))
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.randn_like(p) * 0.5 + 1.0)
net.train()
for _ in range(2):
    net(torch.randn(3, 4, 3, 3) * 2 + 1)
torch.save(net.state_dict(), path("norms.pth"))
x = torch.randn(2, 4, 3, 3) * 2 + 0.5
net.eval()
with torch.no_grad():
    evaluation = net(x)
    net.train()
    training = net(x)
expected = {"input": x, "eval": evaluation, "train": training}
for name, t in net.state_dict().items():
    expected["after." + name] = t
write_safetensors(expected, "norms.expected.safetensors")
