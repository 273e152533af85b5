// sum and mean over all elements or over dims.

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce_helpers.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;

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
  NoGradGuard no_grad;
  return contiguous(permute(x, plan.order));
}

}  // namespace detail

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
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
  const detail::ReducePlan plan = detail::plan_reduction("mean", x, dims);
  if (plan.inner == 0) fail<ValueError>("mean: reducing {} elements (empty dims) is undefined", plan.inner);
  return div(sum(x, dims, keepdim), static_cast<double>(plan.inner));
}

Tensor mean(const Tensor& x) { return mean(x, Dims{}, false); }

}  // namespace xgrad
