#include "xgrad/optim/clip.hpp"

#include <algorithm>
#include <cmath>

#include "util/check.hpp"
#include "util/dispatch.hpp"
#include "xgrad/autograd.hpp"

namespace xgrad::optim {

using detail::fail;

namespace {

/// The gradients of `params` that are defined (each checked contiguous).
std::vector<Tensor> defined_gradients(const char* op, const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (std::size_t i = 0; i < params.size(); ++i) {
    detail::check_defined(op, params[i], "parameter");
    const Tensor g = params[i].grad();
    if (!g.defined()) continue;
    if (!g.is_contiguous())
      fail<ValueError>("{}: the gradient of parameter {} (shape {}, strides {}) is not contiguous", op, i,
                       detail::str(g.shape()), detail::str(g.strides()));
    grads.push_back(g);
  }
  return grads;
}

/// `total` plus the sum of |g|^norm_type over grad's elements, or for the
/// infinity norm the larger of `total` and the largest |g| (NaN propagates).
double accumulate_norm(const Tensor& grad, double norm_type, double total) {
  return detail::visit_floating(grad.dtype(), "clip_grad_norm_", [&]<class T>() {
    const T* g = grad.data<T>();
    const std::int64_t n = grad.numel();
    for (std::int64_t i = 0; i < n; ++i) {
      const double a = std::abs(static_cast<double>(g[i]));
      if (std::isinf(norm_type)) {
        if (a > total || std::isnan(a)) total = a;
      } else {
        total += norm_type == 2 ? a * a : std::pow(a, norm_type);
      }
    }
    return total;
  });
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  if (!(max_norm >= 0)) fail<ValueError>("clip_grad_norm_: max_norm must be >= 0, got {}", max_norm);
  if (!(norm_type > 0)) fail<ValueError>("clip_grad_norm_: norm_type must be > 0 (or infinity), got {}", norm_type);
  const std::vector<Tensor> grads = defined_gradients("clip_grad_norm_", params);
  double total = 0;
  for (const Tensor& g : grads) total = accumulate_norm(g, norm_type, total);
  if (!std::isinf(norm_type)) total = norm_type == 2 ? std::sqrt(total) : std::pow(total, 1 / norm_type);

  // PyTorch multiplies by min(1, coef); a NaN norm makes every gradient NaN, as there.
  const double clip_coef = max_norm / (total + 1e-6);
  if (!(clip_coef >= 1)) {
    NoGradGuard no_grad;
    for (Tensor g : grads) g.mul_(clip_coef);
  }
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  if (!(clip_value >= 0)) fail<ValueError>("clip_grad_value_: clip_value must be >= 0, got {}", clip_value);
  for (Tensor g : defined_gradients("clip_grad_value_", params)) {
    detail::visit_floating(g.dtype(), "clip_grad_value_", [&]<class T>() {
      T* data = g.mutable_data<T>();
      const T bound = static_cast<T>(clip_value);
      const std::int64_t n = g.numel();
      for (std::int64_t i = 0; i < n; ++i) data[i] = std::clamp(data[i], -bound, bound);
    });
  }
}

}  // namespace xgrad::optim
