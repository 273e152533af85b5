// softmax and log_softmax along one dim.
//
// Each row (the elements along `dim` that share every other index) is shifted
// by its maximum before exponentiation, so large logits cannot overflow:
// softmax(x) = exp(x - m) / sum(exp(x - m)), log_softmax(x) = x - m - log(sum(exp(x - m))).

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "xgrad/ops/math.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/softmax.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::SavedTensor;

namespace {

// A contiguous tensor seen as [outer, size, inner] around one dim: the `size`
// elements along the dim that share an (outer, inner) index form a row whose
// elements are `inner` apart.
struct DimRows {
  std::int64_t outer = 1, size = 1, inner = 1;

  // f(first, stride) for every row, `first` being its first element's offset.
  template <class F>
  void for_each(F f) const {
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t k = 0; k < inner; ++k) f(o * size * inner + k, inner);
  }
};

DimRows dim_rows(const Shape& shape, std::int64_t dim) {
  DimRows rows;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const auto i = static_cast<std::int64_t>(d);
    if (i < dim) {
      rows.outer *= shape[d];
    } else if (i == dim) {
      rows.size = shape[d];
    } else {
      rows.inner *= shape[d];
    }
  }
  return rows;
}

// One row of softmax (or log_softmax when `log`), from x into y.
template <class T>
void softmax_row(const T* x, T* y, std::int64_t n, std::int64_t stride, bool log) {
  T top = -std::numeric_limits<T>::infinity();
  for (std::int64_t i = 0; i < n; ++i) top = std::max(top, x[i * stride]);
  double total = 0;  // double accumulation keeps long f32 rows accurate
  for (std::int64_t i = 0; i < n; ++i) {
    const T e = std::exp(x[i * stride] - top);
    total += e;
    if (!log) y[i * stride] = e;
  }
  if (log) {
    // (x - top) first: it is exact near the maximum, where the probability mass is.
    const auto log_total = static_cast<T>(std::log(total));
    for (std::int64_t i = 0; i < n; ++i) y[i * stride] = (x[i * stride] - top) - log_total;
  } else {
    const T scale = static_cast<T>(1 / total);
    for (std::int64_t i = 0; i < n; ++i) y[i * stride] *= scale;
  }
}

// The forward of both ops along the wrapped `dim` (not recorded).
Tensor softmax_forward(const char* op, const Tensor& x, std::int64_t dim, bool log) {
  const DimRows rows = dim_rows(x.shape(), dim);
  return detail::visit_floating(x.dtype(), op, [&]<class T>() {
    const Tensor in = x.is_contiguous() ? x : detail::copy_as(x, x.dtype());
    Tensor out = detail::make_tensor(x.shape(), x.dtype());
    const T* px = detail::element_ptr<T>(in);
    T* py = detail::element_ptr<T>(out);
    rows.for_each([&](std::int64_t first, std::int64_t stride) {
      softmax_row(px + first, py + first, rows.size, stride, log);
    });
    return out;
  });
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) {
  return detail::trace::traced(
      "softmax",
      [&]() -> Tensor {
        detail::check_defined("softmax", x);
        const std::int64_t d = detail::wrap_dim("softmax", dim, x.dim());
        Tensor out = softmax_forward("softmax", x, d, /*log=*/false);
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("SoftmaxBackward", {x}, out,
                              [sy = SavedTensor::output(out), d](const BackwardArgs& args) {
                                // dx = y * (g - sum(g * y, dim)); all shapes [*in], the sum kept as size 1.
                                const Tensor y = sy.unpack("SoftmaxBackward");
                                const Tensor& g = args.grad();
                                return std::vector<Tensor>{mul(y, sub(g, sum(mul(g, y), d, /*keepdim=*/true)))};
                              });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"dim", dim}}};
      });
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  return detail::trace::traced(
      "log_softmax",
      [&]() -> Tensor {
        detail::check_defined("log_softmax", x);
        const std::int64_t d = detail::wrap_dim("log_softmax", dim, x.dim());
        Tensor out = softmax_forward("log_softmax", x, d, /*log=*/true);
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("LogSoftmaxBackward", {x}, out,
                              [sy = SavedTensor::output(out), d](const BackwardArgs& args) {
                                // dx = g - exp(y) * sum(g, dim); all shapes [*in], the sum kept as size 1.
                                const Tensor y = sy.unpack("LogSoftmaxBackward");
                                const Tensor& g = args.grad();
                                return std::vector<Tensor>{sub(g, mul(exp(y), sum(g, d, /*keepdim=*/true)))};
                              });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"dim", dim}}};
      });
}

}  // namespace xgrad
