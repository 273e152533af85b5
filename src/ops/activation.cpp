// relu, leaky_relu, sigmoid, tanh, gelu; elu, selu, celu, silu, hardswish, hardsigmoid,
// mish, softplus, relu6, hardtanh, log_sigmoid, prelu.

#include <cmath>
#include <limits>
#include <numbers>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "ops/relu_gradient.hpp"
#include "xgrad/ops/math.hpp"
#include "xgrad/ops/activation.hpp"
#include "ops/trace.hpp"
#include "util/check.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::SavedTensor;

namespace {

using detail::ReluRule;

thread_local ReluRule current_relu_rule = ReluRule::standard;

constexpr double kSqrt2OverPi = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;  // for gelu's tanh form

// The common shape of a pointwise activation: out = f(x), and backward
// grad * df(x) where df is computed from the saved input, in one fused map; under
// create_graph grad * df_ops(x), the same slope composed of differentiable ops.
template <class F, class DF, class DFOps>
Tensor pointwise(const char* op, const char* node, const Tensor& x, F f, DF df, DFOps df_ops) {
  Tensor out = detail::unary_map(op, x, f);
  if (!detail::any_requires_grad({x})) return out;
  return detail::record(node, {x}, out, [sx = SavedTensor(x), node, df, df_ops](const BackwardArgs& args) {
    const Tensor v = sx.unpack(node);
    if (detail::creating_graph()) return std::vector<Tensor>{mul(args.grad(), df_ops(v))};
    return std::vector<Tensor>{detail::binary_map(node, args.grad(), v, [df](auto g, auto e) {
      // A zero slope blocks the gradient outright, even an infinite one.
      const auto slope = df(e);
      return slope == 0 ? slope : g * slope;
    })};
  });
}

// The standard normal density and distribution, as differentiable ops (for gelu's
// slope under create_graph): phi(x) = exp(-x^2 / 2) / sqrt(2 pi), Phi' = phi.
Tensor normal_pdf(const Tensor& x) {
  return mul(exp(mul(mul(x, x), -0.5)), std::numbers::inv_sqrtpi / std::numbers::sqrt2);
}

Tensor normal_cdf(const Tensor& x) {
  Tensor out = detail::unary_map("normal_cdf", x, [](auto v) {
    using T = decltype(v);
    return T(0.5) * std::erfc(-v * static_cast<T>(std::numbers::sqrt2 / 2));
  });
  if (!detail::any_requires_grad({x})) return out;
  return detail::record("NormalCdfBackward", {x}, out, [sx = SavedTensor(x)](const BackwardArgs& args) {
    return std::vector<Tensor>{mul(args.grad(), normal_pdf(sx.unpack("NormalCdfBackward")))};
  });
}

// relu recorded under a saliency rule (saliency::ReluGradientGuard), which passes back only
// positive gradients: max(grad, 0) * (x > 0) (guided) or max(grad, 0) (deconvnet).
Tensor saliency_relu(const Tensor& x, const Tensor& out, ReluRule rule) {
  if (!detail::any_requires_grad({x})) return out;
  if (rule == ReluRule::deconvnet)
    return detail::record("DeconvnetReluBackward", {x}, out, [](const BackwardArgs& args) {
      return std::vector<Tensor>{
          detail::unary_map("DeconvnetReluBackward", args.grad(), [](auto g) { return g > 0 ? g : decltype(g)(0); })};
    }, detail::Backward::once);
  return detail::record("GuidedReluBackward", {x}, out, [sx = SavedTensor(x)](const BackwardArgs& args) {
    return std::vector<Tensor>{detail::binary_map("GuidedReluBackward", args.grad(), sx.unpack("GuidedReluBackward"),
                                                  [](auto g, auto v) { return g > 0 && v > 0 ? g : decltype(g)(0); })};
  }, detail::Backward::once);
}

// ---- helpers of the activations below ----------------------------------------------

// 1 / (1 + exp(-v)), split by sign so exp never overflows.
template <class T>
T stable_sigmoid(T v) {
  return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
}

// A constant 0/1 tensor: pred(x) per element (not recorded; for slopes under create_graph).
template <class Pred>
Tensor mask_of(const char* node, const Tensor& x, Pred pred) {
  return detail::unary_map(node, x, [pred](auto v) { return decltype(v)(pred(v) ? 1 : 0); });
}

// m * a + (1 - m) * b for a constant 0/1 mask m; a and b must be finite where the mask
// does not select them (an inf times 0 would be NaN).
Tensor select(const Tensor& m, const Tensor& a, double b) { return add(mul(m, a), mul(rsub(m, 1.0), b)); }

// PyTorch's elu family: scale * x for x > 0, scale * alpha * (exp(input_scale * x) - 1)
// otherwise (x <= 0, so NaN takes the linear side, as PyTorch). elu is (alpha, 1, 1),
// selu (its constants), celu (alpha, 1, 1 / alpha). The slope on the negative side is
// input_scale * (out + scale * alpha), which stays finite on the positive side where
// the mask drops it; differentiating it again differentiates this op.
struct EluCoefficients {
  double alpha, scale, input_scale;
};

Tensor elu_family(const char* op, const char* node, const Tensor& x, EluCoefficients c) {
  const double negative = c.scale * c.alpha;
  return pointwise(
      op, node, x,
      [c, negative](auto v) {
        using T = decltype(v);
        return v <= 0 ? static_cast<T>(negative) * std::expm1(v * static_cast<T>(c.input_scale))
                      : static_cast<T>(c.scale) * v;
      },
      [c, negative](auto v) {
        using T = decltype(v);
        return v <= 0 ? static_cast<T>(negative * c.input_scale) * std::exp(v * static_cast<T>(c.input_scale))
                      : static_cast<T>(c.scale);
      },
      [op, node, c, negative](const Tensor& v) {
        const Tensor m = mask_of(node, v, [](auto e) { return e <= 0; });
        return select(m, mul(add(elu_family(op, node, v, c), negative), c.input_scale), c.scale);
      });
}

// log(1 + exp(beta x)) / beta, x where beta x > threshold; threshold = inf for the
// smooth function (mish's slope).
Tensor softplus_of(const Tensor& x, double beta, double threshold) {
  return pointwise(
      "softplus", "SoftplusBackward", x,
      [beta, threshold](auto v) {
        using T = decltype(v);
        const T z = v * static_cast<T>(beta);
        if (z > static_cast<T>(threshold)) return v;
        // log1p(exp(z)) = z + log1p(exp(-z)): exp never overflows.
        return (z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z))) / static_cast<T>(beta);
      },
      [beta, threshold](auto v) {
        using T = decltype(v);
        const T z = v * static_cast<T>(beta);
        return z > static_cast<T>(threshold) ? T(1) : stable_sigmoid(z);
      },
      [beta, threshold](const Tensor& v) {
        const Tensor linear = mask_of("SoftplusBackward", v, [beta, threshold](auto e) {
          using T = decltype(e);
          return e * static_cast<T>(beta) > static_cast<T>(threshold);
        });
        return select(rsub(linear, 1.0), sigmoid(mul(v, beta)), 1.0);
      });
}

// hardtanh (and relu6, named `op` in its errors): clamp's forward, gradient 1 strictly
// inside the bounds, as PyTorch's hardtanh_backward.
Tensor hardtanh_of(const char* op, const Tensor& x, double min_val, double max_val) {
  if (std::isnan(min_val) || std::isnan(max_val))
    detail::fail<ValueError>("{}: bounds must not be NaN (min_val {}, max_val {})", op, min_val, max_val);
  if (min_val > max_val) detail::fail<ValueError>("{}: min_val {} is greater than max_val {}", op, min_val, max_val);
  // Bounds compared in the tensor's dtype, as clamp's.
  const auto slope = [min_val, max_val](auto v) {
    using T = decltype(v);
    return v <= static_cast<T>(min_val) || v >= static_cast<T>(max_val) ? T(0) : T(1);
  };
  return pointwise(
      op, "HardtanhBackward", x,
      [min_val, max_val](auto v) {
        using T = decltype(v);
        return std::isnan(v) ? v : std::min(std::max(v, static_cast<T>(min_val)), static_cast<T>(max_val));
      },
      slope, [slope](const Tensor& v) { return detail::unary_map("HardtanhBackward", v, slope); });
}

}  // namespace

namespace detail {
ReluRule relu_rule() { return current_relu_rule; }
void set_relu_rule(ReluRule rule) { current_relu_rule = rule; }
}  // namespace detail

Tensor relu(const Tensor& x) {
  return detail::trace::traced(
      "relu",
      [&]() -> Tensor {
        Tensor out = detail::unary_map("relu", x, [](auto v) { return std::isnan(v) || v > 0 ? v : decltype(v)(0); });
        if (current_relu_rule != ReluRule::standard) return saliency_relu(x, out, current_relu_rule);
        if (!detail::any_requires_grad({x})) return out;
        // Backward reads the output (out > 0 exactly where x > 0), not the input: in
        // conv -> relu and batch_norm -> relu the input is then freed after forward,
        // since nothing else keeps it, halving those layers' activation memory.
        return detail::record("ReluBackward", {x}, out, [so = SavedTensor::output(out)](const BackwardArgs& args) {
          return std::vector<Tensor>{detail::times_constant_slope(
              "ReluBackward", args.grad(), so.unpack("ReluBackward"), [](auto o) { return decltype(o)(o > 0); })};
        });
      },
      detail::trace::inputs(x));
}

const Tensor& relu_(const Tensor& x) {
  detail::check_defined("relu_", x);
  if (x.requires_grad() && is_grad_enabled())
    detail::fail<AutogradError>(
        "relu_: in-place operation on a tensor of shape {} that requires grad; use relu(x), or run it under "
        "NoGradGuard",
        detail::str(x.shape()));
  detail::check_writable_in_place("relu_", x);
  detail::visit_floating(x.dtype(), "relu_", [&]<class T>() {
    T* data = detail::element_ptr<T>(x);
    const auto relu_of = [](T v) { return std::isnan(v) || v > 0 ? v : T(0); };
    kernels::parallel_for_each_run<1>(x.shape(), {&x.strides()},
                                      [&](const auto& off, std::int64_t n, const auto& step) {
                                        T* run = data + off[0];
                                        if (step[0] == 1) {
                                          for (std::int64_t i = 0; i < n; ++i) run[i] = relu_of(run[i]);
                                        } else {
                                          for (std::int64_t i = 0; i < n; ++i)
                                            run[i * step[0]] = relu_of(run[i * step[0]]);
                                        }
                                      });
  });
  x.impl()->storage->bump_version();
  return x;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return detail::trace::traced(
      "leaky_relu",
      [&]() -> Tensor {
        const auto slope = [negative_slope](auto v) {
          return v > 0 ? decltype(v)(1) : static_cast<decltype(v)>(negative_slope);
        };
        return pointwise(
            "leaky_relu", "LeakyReluBackward", x,
            [negative_slope](auto v) { return v > 0 ? v : static_cast<decltype(v)>(negative_slope) * v; }, slope,
            [slope](const Tensor& v) { return detail::unary_map("LeakyReluBackward", v, slope); });  // a constant
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"negative_slope", negative_slope}}};
      });
}

Tensor sigmoid(const Tensor& x) {
  return detail::trace::traced(
      "sigmoid",
      [&]() -> Tensor {
        Tensor out = detail::unary_map("sigmoid", x, [](auto v) {
          using T = decltype(v);
          // Split by sign so exp never overflows.
          return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
        });
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("SigmoidBackward", {x}, out, [so = SavedTensor::output(out)](const BackwardArgs& args) {
          // s' = s (1 - s)
          if (detail::creating_graph()) {
            const Tensor s = so.unpack("SigmoidBackward");
            return std::vector<Tensor>{mul(args.grad(), mul(s, rsub(s, 1.0)))};
          }
          return std::vector<Tensor>{detail::binary_map("SigmoidBackward", args.grad(), so.unpack("SigmoidBackward"),
                                                        [](auto g, auto s) { return g * s * (1 - s); })};
        });
      },
      detail::trace::inputs(x));
}

Tensor tanh(const Tensor& x) {
  return detail::trace::traced(
      "tanh",
      [&]() -> Tensor {
        Tensor out = detail::unary_map("tanh", x, [](auto v) { return std::tanh(v); });
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("TanhBackward", {x}, out, [so = SavedTensor::output(out)](const BackwardArgs& args) {
          // tanh' = 1 - tanh^2
          if (detail::creating_graph()) {
            const Tensor t = so.unpack("TanhBackward");
            return std::vector<Tensor>{mul(args.grad(), rsub(mul(t, t), 1.0))};
          }
          return std::vector<Tensor>{detail::binary_map("TanhBackward", args.grad(), so.unpack("TanhBackward"),
                                                        [](auto g, auto t) { return g * (1 - t * t); })};
        });
      },
      detail::trace::inputs(x));
}

Tensor gelu(const Tensor& x, std::string_view approximate) {
  return detail::trace::traced(
      "gelu",
      [&]() -> Tensor {
        if (approximate == "none") {
          // x * Phi(x); d/dx = Phi(x) + x * phi(x). Phi(x) = erfc(-x/sqrt2)/2 keeps
          // precision in the negative tail, where 1 + erf(x/sqrt2) cancels.
          return pointwise(
              "gelu", "GeluBackward", x,
              [](auto v) {
                using T = decltype(v);
                return T(0.5) * v * std::erfc(-v * static_cast<T>(std::numbers::sqrt2 / 2));
              },
              [](auto v) {
                using T = decltype(v);
                const T cdf = T(0.5) * std::erfc(-v * static_cast<T>(std::numbers::sqrt2 / 2));
                const T pdf =
                    std::exp(T(-0.5) * v * v) * static_cast<T>(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
                return cdf + v * pdf;
              },
              [](const Tensor& v) { return add(normal_cdf(v), mul(v, normal_pdf(v))); });
        }
        if (approximate == "tanh") {
          // 0.5 x (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi)
          return pointwise(
              "gelu", "GeluTanhBackward", x,
              [](auto v) {
                using T = decltype(v);
                return T(0.5) * v * (T(1) + std::tanh(static_cast<T>(kSqrt2OverPi) * (v + T(0.044715) * v * v * v)));
              },
              [](auto v) {
                using T = decltype(v);
                const T inner = static_cast<T>(kSqrt2OverPi) * (v + T(0.044715) * v * v * v);
                const T t = std::tanh(inner);
                const T dinner = static_cast<T>(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * v * v);
                return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * dinner;
              },
              [](const Tensor& v) {
                const Tensor t = tanh(mul(add(v, mul(pow(v, 3.0), 0.044715)), kSqrt2OverPi));
                const Tensor dinner = mul(add(mul(mul(v, v), 3 * 0.044715), 1.0), kSqrt2OverPi);
                return add(mul(add(t, 1.0), 0.5), mul(mul(mul(v, rsub(mul(t, t), 1.0)), dinner), 0.5));
              });
        }
        detail::fail<ValueError>("gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"approximate", std::string(approximate)}}};
      });
}

// ---- elu family, silu, hard activations, mish, softplus, log_sigmoid, prelu -------------

Tensor elu(const Tensor& x, double alpha) {
  return detail::trace::traced(
      "elu", [&]() { return elu_family("elu", "EluBackward", x, {alpha, 1.0, 1.0}); },
      [&](const detail::trace::Scope&, const Tensor&) { return detail::trace::Call{{x}, {{"alpha", alpha}}}; });
}

Tensor selu(const Tensor& x) {
  // PyTorch's constants (aten/src/ATen/native/Activation.cpp).
  constexpr double kAlpha = 1.6732632423543772848170429916717;
  constexpr double kScale = 1.0507009873554804934193349852946;
  return detail::trace::traced(
      "selu", [&]() { return elu_family("selu", "SeluBackward", x, {kAlpha, kScale, 1.0}); },
      detail::trace::inputs(x));
}

Tensor celu(const Tensor& x, double alpha) {
  return detail::trace::traced(
      "celu",
      [&]() {
        if (alpha == 0) detail::fail<ValueError>("celu: alpha cannot be 0 (x is divided by it)");
        return elu_family("celu", "CeluBackward", x, {alpha, 1.0, 1.0 / alpha});
      },
      [&](const detail::trace::Scope&, const Tensor&) { return detail::trace::Call{{x}, {{"alpha", alpha}}}; });
}

Tensor silu(const Tensor& x) {
  return detail::trace::traced(
      "silu",
      [&]() {
        // x / (1 + exp(-x)) as PyTorch (NaN at -inf, as there); slope s (1 + x (1 - s)).
        return pointwise(
            "silu", "SiluBackward", x,
            [](auto v) {
              using T = decltype(v);
              return v / (T(1) + std::exp(-v));
            },
            [](auto v) {
              using T = decltype(v);
              const T s = T(1) / (T(1) + std::exp(-v));
              return s * (T(1) + v * (T(1) - s));
            },
            [](const Tensor& v) {
              const Tensor s = sigmoid(v);
              return mul(s, add(mul(v, rsub(s, 1.0)), 1.0));
            });
      },
      detail::trace::inputs(x));
}

Tensor hardswish(const Tensor& x) {
  return detail::trace::traced(
      "hardswish",
      [&]() {
        return pointwise(
            "hardswish", "HardswishBackward", x,
            [](auto v) {
              using T = decltype(v);
              return v * std::min(std::max(v + T(3), T(0)), T(6)) / T(6);  // NaN stays NaN
            },
            [](auto v) {
              using T = decltype(v);
              return v < T(-3) ? T(0) : v < T(3) ? v / T(3) + T(0.5) : T(1);  // NaN: 1, as PyTorch
            },
            [](const Tensor& v) {
              const Tensor middle = mask_of("HardswishBackward", v, [](auto e) { return e >= -3 && e < 3; });
              const Tensor upper = mask_of("HardswishBackward", v, [](auto e) { return !(e < 3); });
              return add(mul(middle, add(div(v, 3.0), 0.5)), upper);
            });
      },
      detail::trace::inputs(x));
}

Tensor hardsigmoid(const Tensor& x) {
  return detail::trace::traced(
      "hardsigmoid",
      [&]() {
        const auto slope = [](auto v) {
          using T = decltype(v);
          return v > T(-3) && v < T(3) ? T(1) / T(6) : T(0);
        };
        return pointwise(
            "hardsigmoid", "HardsigmoidBackward", x,
            [](auto v) {
              using T = decltype(v);
              return std::min(std::max(v + T(3), T(0)), T(6)) / T(6);
            },
            slope, [slope](const Tensor& v) { return detail::unary_map("HardsigmoidBackward", v, slope); });
      },
      detail::trace::inputs(x));
}

Tensor mish(const Tensor& x) {
  return detail::trace::traced(
      "mish",
      [&]() {
        // x tanh(sp(x)), sp = softplus; slope tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2).
        return pointwise(
            "mish", "MishBackward", x,
            [](auto v) { return v * std::tanh(std::log1p(std::exp(v))); },
            [](auto v) {
              using T = decltype(v);
              const T t = std::tanh(std::log1p(std::exp(v)));
              return t + v * (T(1) / (T(1) + std::exp(-v))) * (T(1) - t * t);
            },
            [](const Tensor& v) {
              const Tensor t = tanh(softplus_of(v, 1.0, std::numeric_limits<double>::infinity()));
              return add(t, mul(mul(v, sigmoid(v)), rsub(mul(t, t), 1.0)));
            });
      },
      detail::trace::inputs(x));
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  return detail::trace::traced(
      "softplus", [&]() { return softplus_of(x, beta, threshold); },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"beta", beta}, {"threshold", threshold}}};
      });
}

Tensor relu6(const Tensor& x) {
  return detail::trace::traced(
      "relu6", [&]() { return hardtanh_of("relu6", x, 0.0, 6.0); },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"min_val", 0.0}, {"max_val", 6.0}}};
      });
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  return detail::trace::traced(
      "hardtanh", [&]() { return hardtanh_of("hardtanh", x, min_val, max_val); },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"min_val", min_val}, {"max_val", max_val}}};
      });
}

Tensor log_sigmoid(const Tensor& x) {
  return detail::trace::traced(
      "log_sigmoid",
      [&]() {
        return pointwise(
            "log_sigmoid", "LogSigmoidBackward", x,
            [](auto v) {
              using T = decltype(v);
              return std::min(v, T(0)) - std::log1p(std::exp(-std::abs(v)));
            },
            [](auto v) { return stable_sigmoid(-v); }, [](const Tensor& v) { return sigmoid(neg(v)); });
      },
      detail::trace::inputs(x));
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  return detail::trace::traced(
      "prelu",
      [&]() -> Tensor {
        detail::check_defined("prelu", x);
        detail::check_defined("prelu", weight, "weight");
        detail::check_floating("prelu", x);
        detail::check_same_dtype("prelu", x, weight);
        if (weight.dim() > 1)
          detail::fail<ShapeError>("prelu: weight must be 0-D or 1-D (one value, or one per channel), got shape {}",
                                   detail::str(weight.shape()));
        const std::int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
        if (weight.numel() != 1 && weight.numel() != channels)
          detail::fail<ShapeError>(
              "prelu: weight has {} elements but input {} has {} channel(s) ({}); give 1 or {} elements",
              weight.numel(), detail::str(x.shape()), channels,
              x.dim() >= 2 ? "dim 1" : "an input of fewer than 2 dims has one, as in PyTorch", channels);
        // One weight: a 0-D view that broadcasts anywhere; else [C, 1, ..., 1] against dims 1...
        Shape shape;
        if (weight.numel() != 1) {
          shape.assign(static_cast<std::size_t>(x.dim() - 1), 1);
          shape[0] = channels;
        }
        const Tensor w = weight.reshape(shape);
        Tensor out = detail::binary_map("prelu", x, w, [](auto v, auto a) { return v > 0 ? v : a * v; });
        if (!detail::any_requires_grad({x, w})) return out;
        return detail::record(
            "PreluBackward", {x, w}, out, [sx = SavedTensor(x), sw = SavedTensor(w)](const BackwardArgs& args) {
              // d/dx = 1 for x > 0, w otherwise (NaN included); d/dw = x where x <= 0, summed per channel.
              const Tensor v = sx.unpack("PreluBackward"), a = sw.unpack("PreluBackward");
              const Tensor& g = args.grad();
              Tensor gx, gw;
              if (detail::creating_graph()) {
                const Tensor negative = mask_of("PreluBackward", v, [](auto e) { return !(e > 0); });
                if (args.needs_grad(0)) gx = mul(g, select(negative, a, 1.0));
                if (args.needs_grad(1)) gw = sum_to(mul(mul(g, v), negative), a.shape());
              } else {
                if (args.needs_grad(0))
                  gx = mul(g, detail::binary_map("PreluBackward", v, a, [](auto e, auto s) {
                             return e > 0 ? decltype(e)(1) : s;
                           }));
                if (args.needs_grad(1))
                  gw = sum_to(detail::binary_map("PreluBackward", g, v, [](auto d, auto e) {
                                return e > 0 ? decltype(e)(0) : d * e;
                              }),
                              a.shape());
              }
              return std::vector<Tensor>{gx, gw};
            });
      },
      detail::trace::inputs(x, weight));
}

}  // namespace xgrad
