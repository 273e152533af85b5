// The element-wise losses: mse_loss, l1_loss, smooth_l1_loss, huber_loss,
// binary_cross_entropy, binary_cross_entropy_with_logits and kl_div.
//
// mse, l1 and kl_div are compositions of differentiable ops, as in PyTorch.
// smooth_l1, huber and the two binary cross entropies are one fused map of
// input, target (and pos_weight) recorded with its partials in input and target:
// fused maps for a plain backward, the same partials as differentiable ops under
// create_graph (a clamp, sigmoid, softplus), so every loss is differentiable to
// any order in both. A weight multiplies the element-wise loss as a constant.

#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "ops/loss.hpp"
#include "ops/trace.hpp"
#include "util/log.hpp"
#include "xgrad/ops/activation.hpp"
#include "xgrad/ops/math.hpp"
#include "xgrad/ops/reduction.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::SavedTensor;
using detail::str;

namespace {

// The floor of x (1 - x) in binary_cross_entropy's gradient: PyTorch's EPSILON, a float.
constexpr float kBceEpsilon = 1e-12f;

// Logs `message` once per process for each distinct key (PyTorch's warnings show
// once per call site).
void warn_once(const std::string& key, const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> seen;
  {
    const std::lock_guard lock(mutex);
    if (!seen.insert(key).second) return;
  }
  detail::logger().warn("{}", message);
}

void check_operands(const char* op, const Tensor& input, const Tensor& target) {
  detail::check_defined(op, input, "input");
  detail::check_defined(op, target, "target");
  detail::check_floating(op, input);
  detail::check_same_dtype(op, input, target);
}

// The shape input and target broadcast to (ShapeError when they do not), with
// PyTorch's warning when they differ.
Shape broadcast_warned(const char* op, const Tensor& input, const Tensor& target) {
  const Shape shape = broadcast_shapes(op, input.shape(), target.shape());
  if (input.shape() != target.shape())
    warn_once(fmt::format("{} {} {}", op, str(input.shape()), str(target.shape())),
              fmt::format("{}: using a target size ({}) that is different to the input size ({}). This will likely "
                          "lead to incorrect results due to broadcasting. Please ensure they have the same size.",
                          op, str(target.shape()), str(input.shape())));
  return shape;
}

// target must have input's shape (binary cross entropies, as PyTorch).
void check_same_shape(const char* op, const Tensor& input, const Tensor& target) {
  if (input.shape() != target.shape())
    fail<ShapeError>("{}: target shape {} must equal the input shape {}", op, str(target.shape()),
                     str(input.shape()));
}

// An optional weight (`what`) of the input's dtype that broadcasts to `shape`, a constant.
void check_weight(const char* op, const Tensor& weight, const char* what, const Tensor& input) {
  if (!weight.defined()) return;
  if (weight.dtype() != input.dtype())
    fail<DTypeError>("{}: {} has dtype {} but input has {} ({} shape {}); convert one with .to()", op, what,
                     dtype_name(weight.dtype()), dtype_name(input.dtype()), what, str(weight.shape()));
  const Shape& shape = input.shape();
  bool fits = weight.dim() <= input.dim();
  for (std::size_t i = 0; fits && i < weight.shape().size(); ++i) {
    const std::int64_t w = weight.shape()[weight.shape().size() - 1 - i];
    if (w != 1 && w != shape[shape.size() - 1 - i]) fits = false;
  }
  if (!fits)
    fail<ShapeError>("{}: {} of shape {} does not broadcast to the input shape {}", op, what, str(weight.shape()),
                     str(shape));
  detail::check_constant_weight(op, weight, what);
}

// out = f(a, b, ...) over `shape`, every operand broadcast to it (one floating dtype).
template <class F, class... Ts>
Tensor fused(const char* op, const Shape& shape, F f, const Ts&... operands) {
  constexpr std::size_t N = sizeof...(Ts);
  const std::array<Tensor, N> views{detail::broadcast_view(op, operands, shape)...};
  return detail::visit_floating(views[0].dtype(), op, [&]<class T>() {
    Tensor out = detail::make_tensor(shape, views[0].dtype());
    T* o = detail::element_ptr<T>(out);
    std::array<const T*, N> in{};
    std::array<const Shape*, N + 1> strides{&out.strides()};
    for (std::size_t i = 0; i < N; ++i) {
      in[i] = detail::element_ptr<T>(views[i]);
      strides[i + 1] = &views[i].strides();
    }
    kernels::parallel_for_each_run<N + 1>(shape, strides, [&](const auto& off, std::int64_t n, const auto& step) {
      for (std::int64_t i = 0; i < n; ++i)
        o[off[0] + i * step[0]] = static_cast<T>([&]<std::size_t... I>(std::index_sequence<I...>) {
          return f(in[I][off[I + 1] + i * step[I + 1]]...);
        }(std::make_index_sequence<N>{}));
    });
    return out;
  });
}

// The partials of a fused loss f(x, y, p) in x and in y: scalar functions for
// the fused backward, and the same as differentiable ops for create_graph.
template <class DX, class DY, class DXOps, class DYOps>
struct Partials {
  DX dx;
  DY dy;
  DXOps dx_ops;
  DYOps dy_ops;
};

// f(x, y, p) over `shape` (x, y and the constant operand p broadcast to it),
// recorded with `partials` as its backward; the gradients are summed back to x's
// and y's shapes.
template <class F, class P>
Tensor pointwise_loss(const char* op, const char* node, const Shape& shape, const Tensor& x, const Tensor& y,
                      const Tensor& p, F f, P partials) {
  Tensor out = fused(op, shape, f, x, y, p);
  if (!detail::any_requires_grad({x, y})) return out;
  return detail::record(
      node, {x, y}, out, [node, sx = SavedTensor(x), sy = SavedTensor(y), p, partials](const BackwardArgs& args) {
        const Tensor vx = sx.unpack(node), vy = sy.unpack(node);
        const Tensor& g = args.grad();
        const auto grad = [&](auto df, auto df_ops, const Shape& to) {
          if (detail::creating_graph()) return sum_to(mul(g, df_ops(vx, vy, p)), to);
          return sum_to(fused(node, g.shape(), [df](auto gv, auto a, auto b, auto c) { return gv * df(a, b, c); }, g,
                              vx, vy, p),
                        to);
        };
        std::vector<Tensor> grads(2);
        if (args.needs_grad(0)) grads[0] = grad(partials.dx, partials.dx_ops, vx.shape());
        if (args.needs_grad(1)) grads[1] = grad(partials.dy, partials.dy_ops, vy.shape());
        return grads;
      });
}

template <class DX, class DY, class DXOps, class DYOps>
Partials<DX, DY, DXOps, DYOps> partials(DX dx, DY dy, DXOps dx_ops, DYOps dy_ops) {
  return {dx, dy, dx_ops, dy_ops};
}

// A 0-d 1 of x's dtype: the constant operand of a loss that has none.
Tensor unit(const Tensor& x) { return ones({}, {.dtype = x.dtype()}); }

template <class T>
T stable_sigmoid(T v) {
  return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
}

// log(1 + exp(v)) without overflow.
template <class T>
T stable_softplus(T v) {
  return std::log1p(std::exp(-std::abs(v))) + std::max(v, T(0));
}

// softplus as a recorded op (derivative sigmoid, itself differentiable): the
// target partial of binary_cross_entropy_with_logits under create_graph.
Tensor softplus_op(const Tensor& x) {
  Tensor out = detail::unary_map("softplus", x, [](auto v) { return stable_softplus(v); });
  if (!detail::any_requires_grad({x})) return out;
  return detail::record("SoftplusBackward", {x}, out, [sx = SavedTensor(x)](const BackwardArgs& args) {
    return std::vector<Tensor>{mul(args.grad(), sigmoid(sx.unpack("SoftplusBackward")))};
  });
}

// t log t with 0 at t == 0 (torch.xlogy(t, t)), recorded. Its derivative is
// PyTorch's xlogy(t != 0, t) + t / t: log t + 1, NaN at t == 0 (0 / 0, as PyTorch).
Tensor xlogx(const Tensor& t) {
  Tensor out = detail::unary_map("xlogy", t, [](auto v) { return v == 0 ? decltype(v)(0) : v * std::log(v); });
  if (!detail::any_requires_grad({t})) return out;
  return detail::record("XlogyBackward", {t}, out, [st = SavedTensor(t)](const BackwardArgs& args) {
    const Tensor v = st.unpack("XlogyBackward");
    if (detail::creating_graph()) return std::vector<Tensor>{mul(args.grad(), add(log(v), div(v, v)))};
    return std::vector<Tensor>{detail::binary_map("XlogyBackward", args.grad(), v, [](auto g, auto e) {
      using T = decltype(e);
      return g * (e == 0 ? std::numeric_limits<T>::quiet_NaN() : std::log(e) + T(1));
    })};
  });
}

// Throws ValueError naming the first element of x outside [0, 1] (or NaN).
void check_probabilities(const char* op, const Tensor& x) {
  detail::visit_floating(x.dtype(), op, [&]<class T>() {
    const Tensor c = x.is_contiguous() ? x : detail::copy_as(x, x.dtype());
    const T* v = detail::element_ptr<T>(c);
    for (std::int64_t i = 0; i < c.numel(); ++i)
      if (!(v[i] >= 0 && v[i] <= 1))
        fail<ValueError>("{}: all elements of input should be between 0 and 1, got {} at position {} (input shape {})",
                         op, static_cast<double>(v[i]), str(detail::unravel_index(i, x.shape())), str(x.shape()));
  });
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, MseLossOptions options) {
  const char* op = "mse_loss";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_operands(op, input, target);
        detail::check_reduction(op, options.reduction, false);
        broadcast_warned(op, input, target);
        const Tensor diff = sub(input, target);
        return detail::reduce_loss(op, mul(diff, diff), options.reduction);
      },
      detail::trace::inputs(input, target));
}

Tensor l1_loss(const Tensor& input, const Tensor& target, L1LossOptions options) {
  const char* op = "l1_loss";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_operands(op, input, target);
        detail::check_reduction(op, options.reduction, false);
        broadcast_warned(op, input, target);
        return detail::reduce_loss(op, abs(sub(input, target)), options.reduction);
      },
      detail::trace::inputs(input, target));
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, SmoothL1LossOptions options) {
  const char* op = "smooth_l1_loss";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_operands(op, input, target);
        detail::check_reduction(op, options.reduction, false);
        const double beta = options.beta;
        if (!(beta >= 0)) fail<ValueError>("{}: beta must be >= 0, got {}", op, beta);
        const Shape shape = broadcast_warned(op, input, target);
        // 0.5 z^2 / beta where |z| < beta, |z| - beta / 2 elsewhere. The slope is PyTorch's
        // kernel: -1 for z <= -beta, 1 for z >= beta, z / beta between, and the target's is
        // that of target - input. At beta = 0 (l1_loss's values) it is -1 at z = 0 for both
        // input and target, as in PyTorch, and piecewise constant: a constant under create_graph.
        const auto slope = [beta](auto a, auto b, auto) {
          using T = decltype(a);
          const T z = a - b, bt = static_cast<T>(beta);
          return z <= -bt ? T(-1) : z >= bt ? T(1) : z / bt;
        };
        const auto slope_ops = [beta, slope](const Tensor& x, const Tensor& y, const Tensor& p) {
          if (beta == 0) return fused("SmoothL1LossBackward", broadcast_shapes("smooth_l1_loss", x.shape(), y.shape()),
                                      slope, x.detach(), y.detach(), p);
          return clamp(div(sub(x, y), beta), -1.0, 1.0);
        };
        const Tensor losses = pointwise_loss(
            op, "SmoothL1LossBackward", shape, input, target, unit(input),
            [beta](auto a, auto b, auto) {
              using T = decltype(a);
              const T az = std::abs(a - b), bt = static_cast<T>(beta);
              return az < bt ? T(0.5) * az * az / bt : az - T(0.5) * bt;
            },
            partials(slope, [slope](auto a, auto b, auto c) { return slope(b, a, c); }, slope_ops,
                     [slope_ops](const Tensor& x, const Tensor& y, const Tensor& p) { return slope_ops(y, x, p); }));
        return detail::reduce_loss(op, losses, options.reduction);
      },
      detail::trace::inputs(input, target));
}

Tensor huber_loss(const Tensor& input, const Tensor& target, HuberLossOptions options) {
  const char* op = "huber_loss";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_operands(op, input, target);
        detail::check_reduction(op, options.reduction, false);
        const double delta = options.delta;
        if (!(delta > 0)) fail<ValueError>("{}: delta must be > 0, got {}", op, delta);
        const Shape shape = broadcast_warned(op, input, target);
        // 0.5 z^2 inside (-delta, delta), delta (|z| - delta / 2) outside; slope clamp(z, -delta, delta)
        const auto slope = [delta](auto a, auto b, auto) {
          using T = decltype(a);
          return std::clamp(a - b, static_cast<T>(-delta), static_cast<T>(delta));
        };
        const auto slope_ops = [delta](const Tensor& x, const Tensor& y, const Tensor&) {
          return clamp(sub(x, y), -delta, delta);
        };
        const Tensor losses = pointwise_loss(
            op, "HuberLossBackward", shape, input, target, unit(input),
            [delta](auto a, auto b, auto) {
              using T = decltype(a);
              const T z = a - b, az = std::abs(z), d = static_cast<T>(delta);
              return az < d ? T(0.5) * z * z : d * (az - T(0.5) * d);
            },
            partials(
                slope, [slope](auto a, auto b, auto c) { return -slope(a, b, c); }, slope_ops,
                [slope_ops](const Tensor& x, const Tensor& y, const Tensor& p) { return neg(slope_ops(x, y, p)); }));
        return detail::reduce_loss(op, losses, options.reduction);
      },
      detail::trace::inputs(input, target));
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, BinaryCrossEntropyOptions options) {
  const char* op = "binary_cross_entropy";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_operands(op, input, target);
        detail::check_reduction(op, options.reduction, false);
        check_same_shape(op, input, target);
        check_weight(op, options.weight, "weight", input);
        check_probabilities(op, input);
        // (y - 1) max(log(1 - x), -100) - y max(log x, -100), as PyTorch's kernel
        Tensor losses = pointwise_loss(
            op, "BinaryCrossEntropyBackward", input.shape(), input, target, unit(input),
            [](auto x, auto y, auto) {
              using T = decltype(x);
              return (y - 1) * std::max(std::log1p(-x), T(-100)) - y * std::max(std::log(x), T(-100));
            },
            partials(
                [](auto x, auto y, auto) {  // (x - y) / max(x (1 - x), EPSILON), PyTorch's float EPSILON
                  using T = decltype(x);
                  return (x - y) / std::max((1 - x) * x, static_cast<T>(kBceEpsilon));
                },
                [](auto x, auto, auto) { return std::log1p(-x) - std::log(x); },  // -logit(x), as PyTorch
                [](const Tensor& x, const Tensor& y, const Tensor&) {
                  return div(sub(x, y), clamp(mul(rsub(x, 1.0), x), static_cast<double>(kBceEpsilon), std::nullopt));
                },
                [](const Tensor& x, const Tensor&, const Tensor&) { return sub(log(rsub(x, 1.0)), log(x)); }));
        if (options.weight.defined()) losses = mul(losses, options.weight);
        return detail::reduce_loss(op, losses, options.reduction);
      },
      detail::trace::inputs(input, target, options.weight));
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        BinaryCrossEntropyWithLogitsOptions options) {
  const char* op = "binary_cross_entropy_with_logits";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_operands(op, input, target);
        detail::check_reduction(op, options.reduction, false);
        check_same_shape(op, input, target);
        check_weight(op, options.weight, "weight", input);
        check_weight(op, options.pos_weight, "pos_weight", input);
        const bool weighted = options.pos_weight.defined();
        const Tensor pw = weighted ? options.pos_weight : unit(input);
        // (1 - y) x + (1 + (pw - 1) y) softplus(-x), PyTorch's form
        Tensor losses = pointwise_loss(
            op, "BinaryCrossEntropyWithLogitsBackward", input.shape(), input, target, pw,
            [](auto x, auto y, auto p) { return (1 - y) * x + (1 + (p - 1) * y) * stable_softplus(-x); },
            partials(
                [](auto x, auto y, auto p) { return (p * y + 1 - y) * stable_sigmoid(x) - p * y; },
                // log_sigmoid(-x) - p log_sigmoid(x)
                [](auto x, auto, auto p) { return p * stable_softplus(-x) - stable_softplus(x); },
                [weighted](const Tensor& x, const Tensor& y, const Tensor& p) {
                  if (!weighted) return sub(sigmoid(x), y);
                  const Tensor py = mul(p, y);
                  return sub(mul(add(py, rsub(y, 1.0)), sigmoid(x)), py);
                },
                [weighted](const Tensor& x, const Tensor&, const Tensor& p) {
                  if (!weighted) return neg(x);
                  return sub(mul(p, softplus_op(neg(x))), softplus_op(x));
                }));
        if (options.weight.defined()) losses = mul(losses, options.weight);
        return detail::reduce_loss(op, losses, options.reduction);
      },
      detail::trace::inputs(input, target, options.weight, options.pos_weight));
}

Tensor kl_div(const Tensor& input, const Tensor& target, KlDivOptions options) {
  const char* op = "kl_div";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_operands(op, input, target);
        detail::check_reduction(op, options.reduction, true);
        broadcast_shapes(op, input.shape(), target.shape());
        const Tensor losses = options.log_target ? mul(exp(target), sub(target, input))
                                                 : sub(xlogx(target), mul(target, input));
        if (options.reduction == Reduction::mean)
          warn_once("kl_div mean",
                    "kl_div: reduction mean divides the total loss by both the batch size and the support size; "
                    "batchmean divides only by the batch size, and aligns with the KL div math definition (as "
                    "PyTorch warns).");
        if (options.reduction != Reduction::batchmean) return detail::reduce_loss(op, losses, options.reduction);
        const Tensor total = sum(losses);  // batchmean: the sum over the batch size (the sum for a 0-d input)
        return input.dim() == 0 ? total : div(total, static_cast<double>(input.shape()[0]));
      },
      detail::trace::inputs(input, target));
}

}  // namespace xgrad
