#!/usr/bin/python3
"""The PyTorch side of xgrad's benchmark suite.

The same rows as build/bench/bench_kernels and build/bench/bench_models, with the
same names, shape strings, batch sizes and definitions, measured in PyTorch
(Debian's python3-torch 1.13 and python3-torchvision; run with /usr/bin/python3):

  GEMM           torch.mm(a, b, out=c) on the same M x N x K products
  convolution    torch.nn.functional.conv2d for the forward pass, and
                 aten::convolution_backward with one output_mask entry set for
                 backward-data and backward-weight, so each pass is timed alone
  training step  optimizer.zero_grad(set_to_none=True), forward, cross_entropy,
                 backward, SGD(lr 0.01, momentum 0.9).step()
  inference      model.eval(), torch.no_grad(), forward

Models: torchvision's resnet18, vgg11 and alexnet, and LeNet-5 and the CIFAR
ResNet-20 (option A shortcuts) built here as xgrad's models::lenet5 and
models::resnet20 build them (the parameter counts are checked against xgrad's).
Peak memory, timing (warm-up, repetitions, median) and FLOP counts are defined
as in bench/harness.hpp and bench/bench_models.cpp.

  /usr/bin/python3 bench/torch_suite.py [--threads 1,2] [--reps N] [--filter TEXT] [--list] [--json out.json]

--reps defaults to 5 for kernel rows and 3 for model rows (as the C++ programs).
bench/compare runs this next to the C++ programs; see docs/benchmarks.md.
"""

import argparse
import gc
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- options and timing --------------------------------------------------------------


def positive_ints(text):
    values = [int(v) for v in text.split(",")]
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"not a list of positive numbers: {text}")
    return values


def parse_options(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=positive_ints, default=[1, 2], help="thread counts, e.g. 1,2")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per row (median reported)")
    parser.add_argument("--filter", default="", help="only rows whose name contains this text")
    parser.add_argument("--list", action="store_true", help="print the selected rows (name<TAB>shape) and exit")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    options = parser.parse_args(argv)
    if options.reps is not None and options.reps < 1:
        parser.error("--reps must be positive")
    return options


MAX_ROW_SECONDS = 5.0  # as harness.hpp's kMaxRowSeconds


def median_seconds(fn, reps, min_seconds=0.02, warm_ups=1):
    """Median seconds of one call of fn over `reps` repetitions (fewer when they
    would take longer than MAX_ROW_SECONDS; at least one) after `warm_ups` (at
    least one) untimed calls; a repetition repeats fn for at least min_seconds
    (judged by the last warm-up), as harness.hpp's median_seconds."""

    def seconds_of(calls):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return time.perf_counter() - start

    warm_up = 0.0
    for _ in range(max(warm_ups, 1)):
        warm_up = seconds_of(1)
    calls = max(1, int(min_seconds / max(warm_up, 1e-9)))
    timed = min(max(int(MAX_ROW_SECONDS / max(warm_up, 1e-9)), 1), reps)
    # median_high: the element harness.hpp's nth_element picks (the upper one of an even count)
    return statistics.median_high([seconds_of(calls) / calls for _ in range(timed)])


def status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return float(line.split()[1])
    return None


class PeakMemory:
    """Resets the kernel's high-water mark of resident memory and records VmRSS;
    peak_mib() is VmHWM minus that baseline (as harness.hpp's PeakMemory)."""

    def __init__(self):
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
            self.reset = True
        except OSError:
            self.reset = False
        self.baseline_kib = status_kib("VmRSS")

    def peak_mib(self):
        hwm_kib = status_kib("VmHWM")
        if not self.reset or hwm_kib is None or self.baseline_kib is None:
            return None
        return (hwm_kib - self.baseline_kib) / 1024


def row(name, shape, threads, seconds, flops, items, **model_fields):
    return dict(name=name, shape=shape, threads=threads, seconds=seconds, flops=flops, items=items, **model_fields)


class Benchmark:
    """A row: its name and shape (what --list prints) and run(options, reps) ->
    one row per thread count."""

    def __init__(self, name, shape, run, default_reps):
        self.name, self.shape, self.run, self.default_reps = name, shape, run, default_reps


def uniform(*shape):
    return torch.rand(*shape) * 2 - 1


def timed_at_each_thread_count(name, shape, options, reps, flops, items, fn):
    rows = []
    for threads in options.threads:
        torch.set_num_threads(threads)
        rows.append(row(name, shape, threads, median_seconds(fn, reps), flops, items))
    return rows


# ---- GEMM ------------------------------------------------------------------------------

# As bench_kernels.cpp: square products, and ResNet-18's im2col products at batch 8.
GEMM_SHAPES = [
    ("gemm f32 square", 256, 256, 256),
    ("gemm f32 square", 512, 512, 512),
    ("gemm f32 square", 1024, 1024, 1024),
    ("gemm f32 square", 2048, 2048, 2048),
    ("gemm f32 resnet18 conv1", 64, 8 * 112 * 112, 3 * 49),
    ("gemm f32 resnet18 layer1", 64, 8 * 56 * 56, 64 * 9),
    ("gemm f32 resnet18 layer2", 128, 8 * 28 * 28, 128 * 9),
    ("gemm f32 resnet18 layer3", 256, 8 * 14 * 14, 256 * 9),
    ("gemm f32 resnet18 layer4", 512, 8 * 7 * 7, 512 * 9),
]


def gemm_benchmark(name, m, n, k):
    shape = f"{m}x{n}x{k}"

    def run(options, reps):
        torch.manual_seed(0)
        a, b, c = uniform(m, k), uniform(k, n), torch.empty(m, n)
        return timed_at_each_thread_count(name, shape, options, reps, 2.0 * m * n * k, 0,
                                          lambda: torch.mm(a, b, out=c))

    return Benchmark(name, shape, run, default_reps=5)


# ---- convolution ---------------------------------------------------------------------------

# As bench_kernels.cpp: (family, in, out, size, kernel, stride), padding kernel // 2, no bias.
CONV_LAYERS = [
    ("r18", 3, 64, 224, 7, 2), ("r18", 64, 64, 56, 3, 1), ("r18", 64, 128, 56, 3, 2),
    ("r18", 64, 128, 56, 1, 2), ("r18", 128, 128, 28, 3, 1), ("r18", 128, 256, 28, 3, 2),
    ("r18", 128, 256, 28, 1, 2), ("r18", 256, 256, 14, 3, 1), ("r18", 256, 512, 14, 3, 2),
    ("r18", 256, 512, 14, 1, 2), ("r18", 512, 512, 7, 3, 1), ("cifar", 3, 16, 32, 3, 1),
    ("cifar", 16, 16, 32, 3, 1), ("cifar", 16, 32, 32, 3, 2), ("cifar", 32, 32, 16, 3, 1),
    ("cifar", 32, 64, 16, 3, 2), ("cifar", 64, 64, 8, 3, 1),
]
CONV_BATCHES = [8, 32]
CONV_PASSES = ["forward", "backward-data", "backward-weight"]


def conv_benchmark(layer, batch, conv_pass):
    family, cin, cout, size, kernel, stride = layer
    pad = kernel // 2
    out_size = (size + 2 * pad - kernel) // stride + 1
    name = f"conv {family} {cin}->{cout} k{kernel} s{stride} @{size} {conv_pass}"
    shape = f"batch {batch}, pad {pad}"
    flops = 2.0 * batch * cout * out_size * out_size * cin * kernel * kernel

    def run(options, reps):
        torch.manual_seed(0)
        x, w = uniform(batch, cin, size, size), uniform(cout, cin, kernel, kernel)
        dy = uniform(batch, cout, out_size, out_size)
        if conv_pass == "forward":
            expected = dy.shape

            def fn():
                return F.conv2d(x, w, None, stride, pad)
        else:
            data = conv_pass == "backward-data"
            expected = x.shape if data else w.shape

            def fn():
                return torch.ops.aten.convolution_backward(dy, x, w, None, [stride, stride], [pad, pad], [1, 1],
                                                           False, [0, 0], 1, [data, not data, False])[0 if data else 1]
        with torch.no_grad():
            if fn().shape != expected:
                raise RuntimeError(f"{name}: PyTorch gives shape {tuple(fn().shape)}, expected {tuple(expected)}")
            return timed_at_each_thread_count(name, shape, options, reps, flops, batch, fn)

    return Benchmark(name, shape, run, default_reps=5)


# ---- models ------------------------------------------------------------------------------------


class LeNet5(nn.Module):
    """As xgrad's models::lenet5: ReLU, max pooling, padding 2 on the first convolution."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class CifarBasicBlock(nn.Module):
    """As xgrad's BasicBlock with Shortcut::zero_padding (option A): where the
    shape changes, the shortcut takes every stride-th pixel and appends zero
    channels."""

    def __init__(self, in_channels, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.added_channels = stride, planes - in_channels

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x[:, :, ::self.stride, ::self.stride] if self.stride != 1 else x
        if self.added_channels:
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.added_channels))
        return self.relu(out + shortcut)


class CifarResNet(nn.Module):
    """As xgrad's models::resnet20..110: depth 6n + 2, stages of 16, 32, 64 planes."""

    def __init__(self, depth=20, num_classes=10, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        stages, channels = [], 16
        for i, planes in enumerate([16, 32, 64]):
            blocks = []
            for b in range(n):
                blocks.append(CifarBasicBlock(channels, planes, 2 if i > 0 and b == 0 else 1))
                channels = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():  # torchvision's ResNet initialisation, as xgrad's
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torchvision_model(name):
    """torchvision.models.<name>, randomly initialised (torchvision is imported
    only when needed: it adds to every process's start-up)."""

    def make():
        import torchvision
        return getattr(torchvision.models, name)(weights=None)

    return make


# (name, batch, channels, size, classes, make, parameters of xgrad's model)
MODELS = [
    ("lenet5", 64, 1, 28, 10, LeNet5, 61706),
    ("resnet20", 64, 3, 32, 10, CifarResNet, 269722),
    ("resnet18", 8, 3, 224, 1000, torchvision_model("resnet18"), 11689512),
    ("vgg11", 4, 3, 224, 1000, torchvision_model("vgg11"), 132863336),
    ("alexnet", 16, 3, 224, 1000, torchvision_model("alexnet"), 61100840),
]


def forward_macs_per_image(model, channels, size):
    """Multiply-accumulates of convolutions and linear layers in one forward of
    one image (as xgrad's Conv2d::macs and Linear::macs)."""
    macs = 0

    def count(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs += output.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            macs += output.numel() * module.in_features

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, channels, size, size))
    for handle in handles:
        handle.remove()
    return macs


def model_benchmark(kind, spec):
    model_name, batch, channels, size, classes, make, xgrad_params = spec
    name = f"{kind} {model_name}"
    shape = f"batch {batch}, {channels}x{size}x{size}, {classes} classes"

    def require_finite(loss, when):
        if not math.isfinite(loss):
            raise RuntimeError(f"{name}: the loss {when} is {loss}")

    def measure(threads, reps):
        torch.set_num_threads(threads)
        memory = PeakMemory()
        torch.manual_seed(0)
        model = make()
        params = sum(p.numel() for p in model.parameters())
        if params != xgrad_params:
            raise RuntimeError(f"{name}: PyTorch's model has {params} parameters, xgrad's {xgrad_params}")
        images = torch.randn(batch, channels, size, size)
        labels = torch.randint(0, classes, (batch,))
        if kind == "train":
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            model.train()
            last = {}

            def fn():
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(images), labels)
                loss.backward()
                optimizer.step()
                last["loss"] = loss.item()

            fn()  # the first warm-up step, checked before anything is timed
            require_finite(last["loss"], "of the first step")
            seconds = median_seconds(fn, reps, warm_ups=1)
            require_finite(last["loss"], "of the last step")
            loss, passes = last["loss"], 3
        else:
            model.eval()
            with torch.no_grad():
                logits = model(images)  # the first warm-up call, checked before anything is timed
                loss = F.cross_entropy(logits, labels).item()
                require_finite(loss, "of the first forward")
                del logits
                seconds = median_seconds(lambda: model(images), reps, warm_ups=1)
            passes = 1
        peak_mib = memory.peak_mib()
        flops = passes * 2.0 * forward_macs_per_image(model, channels, size) * batch
        return row(name, shape, threads, seconds, flops, batch, peak_mib=peak_mib, loss=loss, params=params)

    return Benchmark(name, shape, lambda options, reps: [measure(t, reps) for t in options.threads], default_reps=3)


def all_benchmarks():
    benchmarks = [gemm_benchmark(*shape) for shape in GEMM_SHAPES]
    benchmarks += [conv_benchmark(layer, batch, conv_pass)
                   for layer in CONV_LAYERS for batch in CONV_BATCHES for conv_pass in CONV_PASSES]
    benchmarks += [model_benchmark(kind, spec) for kind in ("train", "infer") for spec in MODELS]
    return benchmarks


# ---- report ----------------------------------------------------------------------------------------


def loaded_blas():
    """The BLAS library torch.mm and the linear layers call, as loaded."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.rsplit("/", 1)[-1] or "blis" in line}
    return sorted(os.path.realpath(p) for p in paths if p.startswith("/"))


def environment():
    import torchvision
    return {"torch": torch.__version__, "torchvision": torchvision.__version__,
            "blas": loaded_blas(), "mkldnn": torch.backends.mkldnn.is_available(),
            "parallel_backend": torch.__config__.parallel_info().splitlines()[-1].strip()}


def print_markdown(rows):
    memory = any(r.get("peak_mib") is not None for r in rows)
    print("| benchmark | shape | threads | time (ms) | GFLOP/s | items/s |" + (" peak MiB |" if memory else ""))
    print("|---|---|---:|---:|---:|---:|" + ("---:|" if memory else ""))
    for r in rows:
        gflops = f"{r['flops'] / r['seconds'] * 1e-9:.1f}" if r["flops"] else ""
        items = f"{r['items'] / r['seconds']:.1f}" if r["items"] else ""
        line = f"| {r['name']} | {r['shape']} | {r['threads']} | {r['seconds'] * 1e3:.3f} | {gflops} | {items} |"
        if memory:
            line += f" {r['peak_mib']:.1f} |" if r.get("peak_mib") is not None else " |"
        print(line)


def main(argv):
    options = parse_options(argv)
    selected = [b for b in all_benchmarks() if options.filter in b.name]
    if options.list:
        for b in selected:
            print(f"{b.name}\t{b.shape}")
        return 0
    torch.set_num_interop_threads(1)  # before any parallel work; import torch left OpenMP at 1 thread
    rows = []
    for b in selected:
        for r in b.run(options, options.reps or b.default_reps):
            print(f"{r['name']} {r['shape']}, {r['threads']} thread(s): {r['seconds'] * 1e3:.3f} ms", file=sys.stderr)
            rows.append(r)
    env = environment()
    print(f"PyTorch {env['torch']}, BLAS {', '.join(env['blas']) or 'none loaded'}\n")
    print_markdown(rows)
    if options.json:
        with open(options.json, "w") as out:
            json.dump({"program": "torch_suite", **env, "rows": rows}, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except RuntimeError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
