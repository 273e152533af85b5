// exp, log, sqrt, abs, clamp.

#include <cmath>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "xgrad/ops/math.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::SavedTensor;

Tensor exp(const Tensor& x) {
  return detail::trace::traced(
      "exp",
      [&]() -> Tensor {
        Tensor out = detail::unary_map("exp", x, [](auto v) { return std::exp(v); });
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("ExpBackward", {x}, out, [so = SavedTensor::output(out)](const BackwardArgs& args) {
          return std::vector<Tensor>{mul(args.grad(), so.unpack("ExpBackward"))};  // d exp(x) = exp(x)
        });
      },
      detail::trace::inputs(x));
}

Tensor log(const Tensor& x) {
  return detail::trace::traced(
      "log",
      [&]() -> Tensor {
        Tensor out = detail::unary_map("log", x, [](auto v) { return std::log(v); });
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("LogBackward", {x}, out, [sx = SavedTensor(x)](const BackwardArgs& args) {
          return std::vector<Tensor>{div(args.grad(), sx.unpack("LogBackward"))};  // d log(x) = 1/x
        });
      },
      detail::trace::inputs(x));
}

Tensor sqrt(const Tensor& x) {
  return detail::trace::traced(
      "sqrt",
      [&]() -> Tensor {
        Tensor out = detail::unary_map("sqrt", x, [](auto v) { return std::sqrt(v); });
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("SqrtBackward", {x}, out, [so = SavedTensor::output(out)](const BackwardArgs& args) {
          return std::vector<Tensor>{div(args.grad(), mul(so.unpack("SqrtBackward"), 2.0))};  // 1 / (2 sqrt(x))
        });
      },
      detail::trace::inputs(x));
}

Tensor abs(const Tensor& x) {
  return detail::trace::traced(
      "abs",
      [&]() -> Tensor {
        Tensor out = detail::unary_map("abs", x, [](auto v) { return std::abs(v); });
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("AbsBackward", {x}, out, [sx = SavedTensor(x)](const BackwardArgs& args) {
          // sign(x), with 0 at 0
          return std::vector<Tensor>{
              detail::times_constant_slope("AbsBackward", args.grad(), sx.unpack("AbsBackward"),
                                           [](auto v) { return decltype(v)(v > 0 ? 1 : (v < 0 ? -1 : 0)); })};
        });
      },
      detail::trace::inputs(x));
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  return detail::trace::traced(
      "clamp",
      [&]() -> Tensor {
        if (!min && !max) detail::fail<ValueError>("clamp: at least one of min and max must be given");
        if ((min && std::isnan(*min)) || (max && std::isnan(*max)))
          detail::fail<ValueError>("clamp: bounds must not be NaN (min {}, max {})", min.value_or(-INFINITY),
                                   max.value_or(INFINITY));
        if (min && max && *min > *max) detail::fail<ValueError>("clamp: min {} is greater than max {}", *min, *max);
        const double lo = min.value_or(-INFINITY), hi = max.value_or(INFINITY);
        // Bounds are compared in the tensor's dtype, forward and backward alike.
        Tensor out = detail::unary_map("clamp", x, [lo, hi](auto v) {
          using T = decltype(v);
          return std::isnan(v) ? v : std::min(std::max(v, static_cast<T>(lo)), static_cast<T>(hi));
        });
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("ClampBackward", {x}, out, [sx = SavedTensor(x), lo, hi](const BackwardArgs& args) {
          return std::vector<Tensor>{
              detail::times_constant_slope("ClampBackward", args.grad(), sx.unpack("ClampBackward"), [lo, hi](auto v) {
                using T = decltype(v);
                return T(v >= static_cast<T>(lo) && v <= static_cast<T>(hi));
              })};
        });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"min", min.value_or(-INFINITY)}, {"max", max.value_or(INFINITY)}}};
      });
}

}  // namespace xgrad
