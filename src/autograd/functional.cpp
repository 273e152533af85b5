// torch.autograd.functional's transforms on the tape (functional.hpp): each is a
// few calls of grad() and forward mode, with the inputs prepared so that the
// caller's tensors are never modified and grad mode is on whatever the caller's.

#include "xgrad/functional.hpp"

#include "autograd/grad_mode.hpp"
#include "util/check.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/ops/arithmetic.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::autograd::functional {

using xgrad::detail::fail;
using xgrad::detail::str;

namespace {

// The inputs f is called with: x itself when its graph must be kept
// (create_graph and it requires grad), else a fresh leaf that requires grad.
std::vector<Tensor> prepare(const char* op, const std::vector<Tensor>& xs, bool create_graph) {
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!xs[i].defined()) fail<ValueError>("{}: input {} is an undefined tensor", op, i);
    if (!is_floating(xs[i].dtype()))
      fail<DTypeError>("{}: input {} has dtype {}; only floating tensors can be differentiated", op, i,
                       dtype_name(xs[i].dtype()));
    out.push_back(create_graph && xs[i].requires_grad() ? xs[i] : xs[i].detach().requires_grad_());
  }
  return out;
}

Tensor call(const char* op, const FunctionN& f, const std::vector<Tensor>& xs) {
  Tensor y = f(xs);
  if (!y.defined()) fail<ValueError>("{}: the function returned an undefined tensor", op);
  if (!is_floating(y.dtype())) fail<DTypeError>("{}: the function returned a {} tensor", op, dtype_name(y.dtype()));
  return y;
}

void check_like(const char* op, const char* what, const Tensor& t, const Tensor& like) {
  if (!t.defined()) fail<ValueError>("{}: {} is an undefined tensor", op, what);
  if (t.shape() != like.shape())
    fail<ShapeError>("{}: {} has shape {} but must have shape {}", op, what, str(t.shape()), str(like.shape()));
  if (t.dtype() != like.dtype())
    fail<DTypeError>("{}: {} has dtype {} but must have dtype {}", op, what, dtype_name(t.dtype()),
                     dtype_name(like.dtype()));
}

// grad() of outputs with zeros for the inputs they do not reach; detached
// unless the graph is to be kept.
std::vector<Tensor> gradients(const Tensor& y, const std::vector<Tensor>& xs, const Tensor& seed, bool create_graph) {
  std::vector<Tensor> g(xs.size());
  if (y.requires_grad())
    g = grad({y}, xs, seed.defined() ? std::vector<Tensor>{seed} : std::vector<Tensor>{},
             {.retain_graph = true, .create_graph = create_graph, .allow_unused = true});
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!g[i].defined()) g[i] = zeros_like(xs[i]);
    if (!create_graph) g[i] = g[i].detach();
  }
  return g;
}

// The tangent of f at xs along us (forward mode); with `keep_graph` it is
// differentiable in xs (which then require grad).
Tensor tangent(const char* op, const FunctionN& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& us,
               bool keep_graph) {
  if (us.size() != xs.size()) fail<ValueError>("{}: {} inputs but {} tangents", op, xs.size(), us.size());
  xgrad::detail::GradModeGuard mode(keep_graph);
  forward_ad::DualLevel level;
  std::vector<Tensor> duals;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (us[i].defined()) check_like(op, "a tangent", us[i], xs[i]);
    duals.push_back(us[i].defined() ? forward_ad::make_dual(xs[i], us[i]) : xs[i]);
  }
  const Tensor y = call(op, f, duals);
  Tensor t = forward_ad::unpack_dual(y).tangent;
  return t.defined() ? t : zeros_like(y);
}

// The one-hot tangent or seed for element e of a tensor like `like`.
Tensor one_hot(const Tensor& like, std::int64_t e) {
  NoGradGuard no_grad;
  Tensor t = zeros({like.numel()}, {.dtype = like.dtype()});
  t.narrow(0, e, 1).fill_(1.0);
  return t.reshape(like.shape());
}

Shape joined(const Shape& a, const Shape& b) {
  Shape s = a;
  s.insert(s.end(), b.begin(), b.end());
  return s;
}

// Rows (or columns) stacked into a block of shape `shape`.
Tensor assemble(const std::vector<Tensor>& pieces, std::int64_t dim, const Shape& shape) {
  std::vector<Tensor> flat;
  for (const Tensor& p : pieces) flat.push_back(p.reshape({-1}));
  return stack(flat, dim).reshape(shape);
}

Tensor scalar_output(const char* op, const FunctionN& f, const std::vector<Tensor>& xs) {
  const Tensor y = call(op, f, xs);
  if (y.numel() != 1)
    fail<ShapeError>("{}: the function must return a single element, got shape {}", op, str(y.shape()));
  return y;
}

FunctionN lift(const Function1& f) {
  return [f](const std::vector<Tensor>& in) { return f(in[0]); };
}

}  // namespace

std::vector<Tensor> vjp(const FunctionN& f, const std::vector<Tensor>& xs, const Tensor& v,
                        FunctionalOptions options) {
  xgrad::detail::GradModeGuard on(true);
  const std::vector<Tensor> in = prepare("vjp", xs, options.create_graph);
  const Tensor y = call("vjp", f, in);
  check_like("vjp", "v", v, y);
  return gradients(y, in, v, options.create_graph);
}

Tensor jvp(const FunctionN& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& us,
           FunctionalOptions options) {
  const std::vector<Tensor> in = prepare("jvp", xs, options.create_graph);
  return tangent("jvp", f, in, us, options.create_graph);
}

std::vector<Tensor> jacobian(const FunctionN& f, const std::vector<Tensor>& xs, FunctionalOptions options) {
  xgrad::detail::GradModeGuard on(true);
  const std::vector<Tensor> in = prepare("jacobian", xs, options.create_graph);
  std::vector<Tensor> blocks;
  if (options.forward_mode) {
    // Column e of block i: J_i e, one jvp per input element.
    for (std::size_t i = 0; i < in.size(); ++i) {
      std::vector<Tensor> columns;
      Shape y_shape;
      for (std::int64_t e = 0; e < in[i].numel(); ++e) {
        std::vector<Tensor> us(in.size());
        us[i] = one_hot(in[i], e);
        columns.push_back(tangent("jacobian", f, in, us, options.create_graph));
        y_shape = columns.back().shape();
      }
      if (columns.empty()) y_shape = call("jacobian", f, in).shape();
      blocks.push_back(columns.empty() ? zeros(joined(y_shape, in[i].shape()), {.dtype = in[i].dtype()})
                                       : assemble(columns, 1, joined(y_shape, in[i].shape())));
    }
    return blocks;
  }
  // Row r of every block: the gradient of output element r, one backward each.
  const Tensor y = call("jacobian", f, in);
  std::vector<std::vector<Tensor>> rows(in.size());
  for (std::int64_t r = 0; r < y.numel(); ++r) {
    const std::vector<Tensor> g = gradients(y, in, one_hot(y, r), options.create_graph);
    for (std::size_t i = 0; i < in.size(); ++i) rows[i].push_back(g[i]);
  }
  for (std::size_t i = 0; i < in.size(); ++i)
    blocks.push_back(rows[i].empty() ? zeros(joined(y.shape(), in[i].shape()), {.dtype = in[i].dtype()})
                                     : assemble(rows[i], 0, joined(y.shape(), in[i].shape())));
  return blocks;
}

std::vector<std::vector<Tensor>> hessian(const FunctionN& f, const std::vector<Tensor>& xs,
                                         FunctionalOptions options) {
  xgrad::detail::GradModeGuard on(true);
  const std::vector<Tensor> in = prepare("hessian", xs, options.create_graph);
  const std::size_t n = in.size();
  std::vector<std::vector<std::vector<Tensor>>> pieces(n, std::vector<std::vector<Tensor>>(n));
  if (options.forward_mode) {
    // Column e of H[.][j]: the gradient of the tangent along e (reverse over forward).
    for (std::size_t j = 0; j < n; ++j)
      for (std::int64_t e = 0; e < in[j].numel(); ++e) {
        std::vector<Tensor> us(n);
        us[j] = one_hot(in[j], e);
        const Tensor t = tangent("hessian", [&](const std::vector<Tensor>& a) { return scalar_output("hessian", f, a); },
                                 in, us, /*keep_graph=*/true);
        const std::vector<Tensor> column = gradients(t, in, Tensor(), options.create_graph);
        for (std::size_t i = 0; i < n; ++i) pieces[i][j].push_back(column[i]);
      }
  } else {
    // Row e of H[i][.]: the gradient of element e of the gradient (reverse over reverse).
    const Tensor y = scalar_output("hessian", f, in);
    const std::vector<Tensor> g = gradients(y, in, Tensor(), /*create_graph=*/true);
    for (std::size_t i = 0; i < n; ++i)
      for (std::int64_t e = 0; e < in[i].numel(); ++e) {
        const std::vector<Tensor> row = gradients(g[i], in, one_hot(g[i], e), options.create_graph);
        for (std::size_t j = 0; j < n; ++j) pieces[i][j].push_back(row[j]);
      }
  }
  std::vector<std::vector<Tensor>> blocks(n, std::vector<Tensor>(n));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const Shape shape = joined(in[i].shape(), in[j].shape());
      const auto& p = pieces[i][j];
      blocks[i][j] = p.empty() ? zeros(shape, {.dtype = in[i].dtype()})
                               : assemble(p, options.forward_mode ? 1 : 0, shape);
    }
  return blocks;
}

std::vector<Tensor> hvp(const FunctionN& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& vs,
                        FunctionalOptions options) {
  xgrad::detail::GradModeGuard on(true);
  const std::vector<Tensor> in = prepare("hvp", xs, options.create_graph);
  // H v = the gradient of the directional derivative along v (reverse over forward).
  const Tensor t =
      tangent("hvp", [&](const std::vector<Tensor>& a) { return scalar_output("hvp", f, a); }, in, vs, true);
  return gradients(t, in, Tensor(), options.create_graph);
}

std::vector<Tensor> vhp(const FunctionN& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& vs,
                        FunctionalOptions options) {
  xgrad::detail::GradModeGuard on(true);
  const std::vector<Tensor> in = prepare("vhp", xs, options.create_graph);
  if (vs.size() != in.size()) fail<ValueError>("vhp: {} inputs but {} vectors", in.size(), vs.size());
  // vᵀ H = the gradient of <grad f, v> (reverse over reverse).
  const std::vector<Tensor> g = gradients(scalar_output("vhp", f, in), in, Tensor(), /*create_graph=*/true);
  Tensor pairing;
  for (std::size_t i = 0; i < in.size(); ++i) {
    check_like("vhp", "v", vs[i], in[i]);
    const Tensor term = sum(mul(g[i], vs[i]));
    pairing = pairing.defined() ? pairing + term : term;
  }
  return gradients(pairing, in, Tensor(), options.create_graph);
}

Tensor vjp(const Function1& f, const Tensor& x, const Tensor& v, FunctionalOptions options) {
  return vjp(lift(f), std::vector<Tensor>{x}, v, options)[0];
}
Tensor jvp(const Function1& f, const Tensor& x, const Tensor& u, FunctionalOptions options) {
  return jvp(lift(f), std::vector<Tensor>{x}, std::vector<Tensor>{u}, options);
}
Tensor jacobian(const Function1& f, const Tensor& x, FunctionalOptions options) {
  return jacobian(lift(f), std::vector<Tensor>{x}, options)[0];
}
Tensor hessian(const Function1& f, const Tensor& x, FunctionalOptions options) {
  return hessian(lift(f), std::vector<Tensor>{x}, options)[0][0];
}
Tensor hvp(const Function1& f, const Tensor& x, const Tensor& v, FunctionalOptions options) {
  return hvp(lift(f), std::vector<Tensor>{x}, std::vector<Tensor>{v}, options)[0];
}
Tensor vhp(const Function1& f, const Tensor& x, const Tensor& v, FunctionalOptions options) {
  return vhp(lift(f), std::vector<Tensor>{x}, std::vector<Tensor>{v}, options)[0];
}

}  // namespace xgrad::autograd::functional
