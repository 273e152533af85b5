// relu, leaky_relu, sigmoid, tanh, gelu.

#include <cmath>
#include <numbers>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "ops/relu_gradient.hpp"
#include "xgrad/ops/math.hpp"
#include "xgrad/ops/activation.hpp"
#include "ops/trace.hpp"

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

}  // namespace xgrad
