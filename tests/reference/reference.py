"""The PyTorch side of xgrad's differential op suite (tests/reference/README.md).

A family script builds cases and writes one fixture file:

    import torch.nn.functional as F
    from reference import Family, randn

    family = Family("activation")
    for shape in [(5,), (2, 3)]:
        family.case("elu", [randn(*shape)], lambda x: F.elu(x, alpha=0.5), options={"alpha": 0.5})
    family.write()              # tests/reference/activation.safetensors

For each case it stores, computed by PyTorch in float64:
  in{i}      the inputs (floating ones float64, integer ones int64)
  out{j}     the outputs (fn may return a tensor or a tuple)
  gout{j}    a random gradient for every floating output            (first order)
  grad{i}    the vector-Jacobian product for every differentiable input
  v{i}       a random vector per differentiable input               (second order)
  ggin{i}    d/d in_i   of sum_i <grad_i, v_i>
  ggout{j}   d/d gout_j of the same
  tan{i}     a random tangent per differentiable input              (forward mode)
  jvp{j}     J tan for every floating output
under "<op>#<k>/", and in the header's __metadata__ one JSON string per case:
{"op", "options", "n_in", "n_out", "diff", "float_outs", "f32_tol", "second_order",
"forward"}. The jvp is PyTorch's forward mode (torch.autograd.forward_ad), or its double vjp
(d/dw <J^T w, tan>, exact) for an op its forward mode lacks.

Run with Debian's /usr/bin/python3 (python3-torch); the fixture files are committed, so
the tests never need Python.
"""
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)


def randn(*shape, away=0.0, scale=1.0):
    """float64 normal values; away > 0 pushes them at least that far from 0 (off kinks)."""
    x = torch.randn(tuple(shape)) * scale
    if away:
        x = x + torch.sign(x) * away
        x[x == 0] = away
    return x


def distinct(*shape, gap=0.05):
    """float64 values in random order whose pairwise gaps are >= gap (no ties for max/sort)."""
    n = 1
    for s in shape:
        n *= s
    values = (torch.randperm(n).double() - n / 2) * gap * 2 + torch.rand(n) * gap * 0.5
    return values.reshape(*shape) if shape else values.reshape(())


def _zeros_for_unused(grads, like):
    return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, like)]


class Family:
    def __init__(self, name, seed=0):
        self.name = name
        self.tensors = {}
        self.metadata = {}
        self.counts = {}
        torch.manual_seed(seed)

    def case(self, op, inputs, fn, options=None, nondiff=(), f32_tol=None, second_order=True, forward=True):
        """Adds one case of `op`: fn(*inputs) with the options the C++ side reads.

        nondiff: indices of floating inputs that get no gradient (running statistics, say);
        second_order / forward: False where PyTorch cannot differentiate twice;
        f32_tol: the float32 rerun's tolerance when the default (1e-4) is too tight."""
        k = self.counts.get(op, 0)
        self.counts[op] = k + 1
        cid = f"{op}#{k}"
        ins = [t.detach().clone() for t in inputs]
        diff = [i for i, t in enumerate(ins) if t.is_floating_point() and i not in nondiff]
        for i in diff:
            ins[i].requires_grad_(True)
        for i, t in enumerate(ins):  # before fn, which may update an input in place (running statistics)
            self._put(f"{cid}/in{i}", t)
        outs = fn(*ins)
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        float_outs = [j for j, o in enumerate(outs) if o.is_floating_point()]

        for j, o in enumerate(outs):
            self._put(f"{cid}/out{j}", o)

        connected = [j for j in float_outs if outs[j].requires_grad]
        diff_ins = [ins[i] for i in diff]
        if diff and connected:
            gouts = {j: torch.randn_like(outs[j]).requires_grad_(True) for j in connected}
            grads = torch.autograd.grad([outs[j] for j in connected], diff_ins, [gouts[j] for j in connected],
                                        create_graph=second_order or forward, allow_unused=True)
            for j in float_outs:
                self._put(f"{cid}/gout{j}", gouts[j] if j in gouts else torch.zeros_like(outs[j]))
            for i, g in zip(diff, _zeros_for_unused(grads, diff_ins)):
                self._put(f"{cid}/grad{i}", g)
            if second_order:
                vs = [torch.randn_like(t) for t in diff_ins]
                terms = [(g * v).sum() for g, v in zip(grads, vs) if g is not None and g.requires_grad]
                wrt = diff_ins + [gouts[j] for j in connected]
                if terms:
                    gg = _zeros_for_unused(torch.autograd.grad(sum(terms), wrt, allow_unused=True), wrt)
                else:
                    gg = [torch.zeros_like(t) for t in wrt]
                for i, v, g in zip(diff, vs, gg[:len(diff)]):
                    self._put(f"{cid}/v{i}", v)
                    self._put(f"{cid}/ggin{i}", g)
                for j in float_outs:
                    self._put(f"{cid}/ggout{j}", gg[len(diff) + connected.index(j)] if j in connected
                              else torch.zeros_like(outs[j]))
            if forward:
                tans = [torch.randn_like(t) for t in diff_ins]
                jv = self._jvp(fn, ins, diff, tans, outs, connected)
                for i, u in zip(diff, tans):
                    self._put(f"{cid}/tan{i}", u)
                for j in float_outs:
                    self._put(f"{cid}/jvp{j}", jv[connected.index(j)] if j in connected else torch.zeros_like(outs[j]))
        else:
            second_order = forward = False
            diff = []

        self.metadata[cid] = json.dumps({
            "op": op, "options": options or {}, "n_in": len(ins), "n_out": len(outs), "diff": diff,
            "float_outs": float_outs, "f32_tol": f32_tol, "second_order": second_order, "forward": forward,
        }, separators=(",", ":"))

    @staticmethod
    def _jvp(fn, ins, diff, tans, outs, connected):
        """J tan by PyTorch's forward mode; by its double vjp where forward mode lacks the op."""
        try:
            import torch.autograd.forward_ad as fwd
            with fwd.dual_level():
                duals = list(t.detach() for t in ins)
                for i, u in zip(diff, tans):
                    duals[i] = fwd.make_dual(duals[i], u)
                res = fn(*duals)
                res = list(res) if isinstance(res, (tuple, list)) else [res]
                tangents = [fwd.unpack_dual(res[j]).tangent for j in connected]
                return [torch.zeros_like(outs[j]) if t is None else t.detach().clone()
                        for j, t in zip(connected, tangents)]
        except (RuntimeError, NotImplementedError):
            pass
        diff_ins = [ins[i] for i in diff]
        ws = [torch.zeros_like(outs[j]).requires_grad_(True) for j in connected]
        back = torch.autograd.grad([outs[j] for j in connected], diff_ins, ws, create_graph=True, allow_unused=True)
        terms = [(g * u).sum() for g, u in zip(back, tans) if g is not None and g.requires_grad]
        if not terms:
            return [torch.zeros_like(w) for w in ws]
        return _zeros_for_unused(torch.autograd.grad(sum(terms), ws, allow_unused=True), ws)

    def _put(self, key, t):
        t = t.detach().clone().contiguous()
        if t.is_floating_point():
            t = t.double()
        elif t.dtype == torch.bool:
            t = t.long()
        self.tensors[key] = t

    def write(self):
        """Writes <name>.safetensors beside this file and prints the case counts."""
        codes = {torch.float64: "F64", torch.int64: "I64"}
        header, blobs = {"__metadata__": self.metadata}, bytearray()
        for key, t in self.tensors.items():
            raw = t.numpy().tobytes()
            header[key] = {"dtype": codes[t.dtype], "shape": list(t.shape),
                           "data_offsets": [len(blobs), len(blobs) + len(raw)]}
            blobs += raw
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * ((8 - len(text) % 8) % 8)
        path = os.path.join(HERE, f"{self.name}.safetensors")
        with open(path + ".tmp", "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + bytes(blobs))
        os.replace(path + ".tmp", path)
        total = sum(self.counts.values())
        print(f"{self.name}: {total} cases, {len(self.counts)} ops, {len(blobs) // 1024} KiB -> {path}")
        for op, n in sorted(self.counts.items()):
            print(f"  {op}: {n}")
