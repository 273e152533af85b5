// sum, mean, max, min over all elements; amax, amin over dims; max, min, argmax, argmin along one
// dim; logsumexp and norm.

#include <cmath>
#include <functional>
#include <string>
#include <type_traits>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce_helpers.hpp"
#include "xgrad/ops/arithmetic.hpp"
#include "xgrad/ops/indexing.hpp"
#include "xgrad/ops/math.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::SavedTensor;
using detail::str;

namespace detail {

ReducePlan plan_reduction(const char* op, const Tensor& x, const Dims& dims) {
  check_defined(op, x);
  ReducePlan plan;
  const std::int64_t ndim = x.dim();
  plan.reduced.assign(static_cast<std::size_t>(ndim), dims.values.empty());
  for (std::int64_t d : dims.values) {
    const auto w = static_cast<std::size_t>(wrap_dim(op, d, ndim));
    if (ndim == 0) continue;
    if (plan.reduced[w] && !dims.values.empty())
      fail<ValueError>("{}: dim {} appears more than once in the dims to reduce", op, w);
    plan.reduced[w] = true;
  }
  Shape& order = plan.order;
  for (std::size_t d = 0; d < plan.reduced.size(); ++d)
    if (!plan.reduced[d]) {
      order.push_back(static_cast<std::int64_t>(d));
      plan.out_shape.push_back(x.shape()[d]);
      plan.keepdim_shape.push_back(x.shape()[d]);
      plan.outer *= x.shape()[d];
    } else {
      plan.keepdim_shape.push_back(1);
    }
  for (std::size_t d = 0; d < plan.reduced.size(); ++d)
    if (plan.reduced[d]) {
      order.push_back(static_cast<std::int64_t>(d));
      plan.inner *= x.shape()[d];
    }
  return plan;
}

Tensor reduction_rows(const Tensor& x, const ReducePlan& plan) {
  if (x.numel() == 0) return make_tensor({plan.outer, plan.inner}, x.dtype());  // nothing to copy
  NoGradGuard no_grad;
  return contiguous(permute(x, plan.order));
}

}  // namespace detail

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  detail::check_defined("sum", x);
  detail::check_floating("sum", x);
  const detail::ReducePlan plan = detail::plan_reduction("sum", x, dims);
  Tensor out = detail::make_tensor(detail::result_shape(plan, keepdim), x.dtype());
  detail::visit_floating(x.dtype(), "sum", [&]<class T>() {
    const Tensor rows = detail::reduction_rows(x, plan);
    const T* in = detail::element_ptr<T>(rows);
    T* o = detail::element_ptr<T>(out);
    for (std::int64_t r = 0; r < plan.outer; ++r) {
      double acc = 0;  // double accumulation keeps f32 sums of long rows accurate
      const T* row = in + r * plan.inner;
      for (std::int64_t i = 0; i < plan.inner; ++i) acc += row[i];
      o[r] = static_cast<T>(acc);
    }
  });
  if (!detail::any_requires_grad({x})) return out;
  return detail::record("SumBackward", {x}, out,
                        [in = x.shape(), kept = plan.keepdim_shape](const BackwardArgs& args) {
                          // Every input element contributes once: the gradient is broadcast back.
                          return std::vector<Tensor>{expand(reshape(args.grad(), kept), in)};
                        });
}

Tensor sum(const Tensor& x) { return sum(x, Dims{}, false); }

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  detail::check_defined("mean", x);
  detail::check_floating("mean", x);
  const detail::ReducePlan plan = detail::plan_reduction("mean", x, dims);
  if (plan.inner == 0) fail<ValueError>("mean: reducing {} elements (empty dims) is undefined", plan.inner);
  return div(sum(x, dims, keepdim), static_cast<double>(plan.inner));
}

Tensor mean(const Tensor& x) { return mean(x, Dims{}, false); }

namespace {

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// The layout of a reduction that needs at least one element per output (the
// extreme of nothing is undefined).
detail::ReducePlan plan_nonempty(const char* op, const Tensor& x, const Dims& dims) {
  detail::ReducePlan plan = detail::plan_reduction(op, x, dims);
  if (plan.inner == 0)
    fail<ValueError>("{}: cannot reduce over a zero-size dim (input shape {}, dims {})", op, str(x.shape()),
                     dims.values.empty() ? std::string("all") : str(dims.values));
  return plan;
}

// Position of a row's extreme element: the first NaN if there is one (NaN
// propagates), else the first element that `better` prefers to all others.
template <class T, class Better>
std::int64_t extreme_index(const T* row, std::int64_t n, Better better) {
  std::int64_t best = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (is_nan(row[i])) return i;
    if (better(row[i], row[best])) best = i;
  }
  return best;
}

// Calls emit(r, row, i) for every output element r, with the row it reduces and
// the position of that row's extreme element.
template <class T, class Better, class Emit>
void for_each_extreme(const Tensor& x, const detail::ReducePlan& plan, Better better, Emit emit) {
  const Tensor rows = detail::reduction_rows(x, plan);
  const T* in = detail::element_ptr<T>(rows);
  for (std::int64_t r = 0; r < plan.outer; ++r) {
    const T* row = in + r * plan.inner;
    emit(r, row, extreme_index(row, plan.inner, better));
  }
}

// max or min (values only, as torch.amax / amin).
template <class Better>
Tensor extreme(const char* op, const char* node, const Tensor& x, const Dims& dims, bool keepdim, Better better) {
  detail::check_defined(op, x);
  detail::check_floating(op, x);
  const detail::ReducePlan plan = plan_nonempty(op, x, dims);
  Tensor out = detail::make_tensor(detail::result_shape(plan, keepdim), x.dtype());
  detail::visit_floating(x.dtype(), op, [&]<class T>() {
    T* o = detail::element_ptr<T>(out);
    for_each_extreme<T>(x, plan, better, [o](std::int64_t r, const T* row, std::int64_t i) { o[r] = row[i]; });
  });
  if (!detail::any_requires_grad({x})) return out;
  return detail::record(
      node, {x}, out,
      [node, sx = SavedTensor(x), so = SavedTensor::output(out), kept = plan.keepdim_shape](const BackwardArgs& args) {
        // The gradient goes to the elements equal to the result, split evenly
        // among ties (a NaN result counts as equal to the NaNs it came from):
        // grad [*kept] -> ties * grad / count(ties), shape [*in].
        const Tensor result = reshape(so.unpack(node), kept);
        const Tensor ties = detail::binary_map(node, sx.unpack(node), result, [](auto v, auto m) {
          using T = decltype(v);
          return v == m || (std::isnan(v) && std::isnan(m)) ? T(1) : T(0);
        });
        return std::vector<Tensor>{mul(ties, div(reshape(args.grad(), kept), sum_to(ties, kept)))};
      });
}

// argmax or argmin: i64 positions along dim (first occurrence), not recorded.
template <class Better>
Tensor extreme_position(const char* op, const Tensor& x, std::int64_t dim, bool keepdim, Better better) {
  const detail::ReducePlan plan = plan_nonempty(op, x, Dims(dim));
  Tensor out = detail::make_tensor(detail::result_shape(plan, keepdim), i64);
  auto* o = detail::element_ptr<std::int64_t>(out);
  detail::visit_all(x.dtype(), [&]<class T>() {
    for_each_extreme<T>(x, plan, better, [o](std::int64_t r, const T*, std::int64_t i) { o[r] = i; });
  });
  return out;
}

// {x gathered at indices (keepdim-shaped along dim), indices}: the values carry
// the gradient to the chosen elements alone.
ValuesIndices values_at(const Tensor& x, std::int64_t dim, bool keepdim, const Tensor& indices) {
  if (x.dim() == 0) return {reshape(gather(reshape(x, {1}), 0, reshape(indices, {1})), {}), reshape(indices, {})};
  const std::int64_t d = detail::wrap_dim("max", dim, x.dim());
  Tensor values = gather(x, d, indices);
  if (keepdim) return {values, indices};
  return {squeeze(values, d), squeeze(indices, d)};
}

}  // namespace

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) {
  return extreme("amax", "AmaxBackward", x, dims, keepdim, std::greater<>());
}
Tensor max(const Tensor& x) { return extreme("max", "MaxBackward", x, Dims{}, false, std::greater<>()); }

Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) {
  return extreme("amin", "AminBackward", x, dims, keepdim, std::less<>());
}
Tensor min(const Tensor& x) { return extreme("min", "MinBackward", x, Dims{}, false, std::less<>()); }

ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim) {
  return values_at(x, dim, keepdim, extreme_position("max", x, dim, true, std::greater<>()));
}

ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim) {
  return values_at(x, dim, keepdim, extreme_position("min", x, dim, true, std::less<>()));
}

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  return extreme_position("argmax", x, dim, keepdim, std::greater<>());
}

Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) {
  return extreme_position("argmin", x, dim, keepdim, std::less<>());
}

}  // namespace xgrad

namespace xgrad {

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  detail::check_defined("logsumexp", x);
  detail::check_floating("logsumexp", x);
  // The shift m is a constant (the result does not depend on it); an infinite
  // maximum shifts by 0, so that exp(x - m) is not inf - inf.
  Tensor m;
  {
    NoGradGuard no_grad;
    m = detail::unary_map("logsumexp", amax(x, dims, true), [](auto v) { return std::isinf(v) ? decltype(v)(0) : v; });
  }
  const Tensor total = sum(exp(sub(x, m)), dims, keepdim);
  return add(log(total), reshape(m, total.shape()));
}

Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  detail::check_defined("norm", x);
  detail::check_floating("norm", x);
  if (std::isnan(p)) fail<ValueError>("norm: p must be a number, got nan");
  if (p == 0) {
    NoGradGuard no_grad;  // the count of nonzeros: piecewise constant, no gradient
    return sum(detail::unary_map("norm", x, [](auto v) { return decltype(v)(v != 0); }), dims, keepdim);
  }
  if (std::isinf(p)) return p > 0 ? amax(abs(x), dims, keepdim) : amin(abs(x), dims, keepdim);
  if (p == 1) return sum(abs(x), dims, keepdim);
  if (p < 0) fail<ValueError>("norm: p must be positive, 0 or +-inf, got {}", p);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = p == 2 ? sqrt(sum(mul(x, x), dims, keepdim)) : pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
  }
  if (!detail::any_requires_grad({x})) return out;
  const Shape kept = detail::plan_reduction("norm", x, dims).keepdim_shape;
  return detail::record(
      "NormBackward", {x}, out, [sx = SavedTensor(x), so = SavedTensor::output(out), p, kept](const BackwardArgs& args) {
        // grad -> grad * x |x|^(p-2) / norm^(p-1), and 0 where the norm is 0 (as PyTorch). The
        // zero norms are replaced by 1 before dividing, so no inf enters a second derivative.
        const Tensor v = sx.unpack("NormBackward");
        const Tensor n = reshape(so.unpack("NormBackward"), kept);
        const Tensor is_zero = detail::unary_map("NormBackward", n.detach(), [](auto e) { return decltype(e)(e == 0); });
        const Tensor one = scalar_tensor(1, {.dtype = n.dtype()}), zero = scalar_tensor(0, {.dtype = n.dtype()});
        const Tensor safe = where(is_zero, one, n);
        const Tensor scale = where(is_zero, zero, div(reshape(args.grad(), kept), p == 2 ? safe : pow(safe, p - 1)));
        return std::vector<Tensor>{p == 2 ? mul(v, scale) : mul(mul(v, pow(abs(v), p - 2)), scale)};
      });
}

}  // namespace xgrad
