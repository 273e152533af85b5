// gather, scatter_add, index_select, where, masked_fill, sort, topk, cumsum.
//
// gather and scatter_add are linear in x and src, and each other's adjoint: they
// are recorded as detail::LinearPair maps, which makes them differentiable to any
// order. index_select gathers with an expanded index; sort and topk compute their
// indices without recording and gather the values, so their gradients are
// gather's. cumsum is a linear pair too (its adjoint sums from the end).

#include "xgrad/ops/indexing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "xgrad/ops/arithmetic.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad {

using detail::fail;
using detail::str;

namespace {

// Calls line(x_offset, out_offset) once per line of `shape` along dim (the
// elements that differ only in their dim coordinate), the offsets those of the
// line's first element in tensors with strides xs and os.
template <class Line>
void for_each_line(const Shape& shape, std::int64_t dim, const Shape& xs, const Shape& os, Line line) {
  Shape lines = shape;
  lines[static_cast<std::size_t>(dim)] = 1;
  kernels::for_each_run<2>(lines, {&xs, &os}, [&](const auto& off, std::int64_t n, const auto& step) {
    for (std::int64_t i = 0; i < n; ++i) line(off[0] + i * step[0], off[1] + i * step[1]);
  });
}

// A 0-d tensor as [1] (sort, topk and cumsum treat it as one element along dim 0 or -1).
Tensor at_least_1d(const Tensor& x) { return x.dim() == 0 ? reshape(x, {1}) : x; }

void check_index_dtype(const char* op, const Tensor& index) {
  detail::check_defined(op, index, "index");
  if (index.dtype() != i64)
    fail<DTypeError>("{}: index must be an i64 tensor, got {} (index shape {})", op, dtype_name(index.dtype()),
                     str(index.shape()));
}

// The checks gather and scatter_add share: index has x's rank, is no larger than
// x off dim and (scatter_add) than src in any dim, and its values lie in
// [0, x.size(dim)). Returns dim wrapped.
std::int64_t check_index(const char* op, const Tensor& x, std::int64_t dim, const Tensor& index,
                         const Tensor* src = nullptr) {
  check_index_dtype(op, index);
  const std::int64_t d = detail::wrap_dim(op, dim, std::max<std::int64_t>(x.dim(), 1));
  if (index.dim() != x.dim())
    fail<ShapeError>("{}: index must have the input's rank {}, got index shape {} for input shape {}", op, x.dim(),
                     str(index.shape()), str(x.shape()));
  for (std::int64_t k = 0; k < index.dim(); ++k) {
    const auto u = static_cast<std::size_t>(k);
    if (k != d && index.shape()[u] > x.shape()[u])
      fail<ShapeError>("{}: index shape {} is larger than the input shape {} in dim {}", op, str(index.shape()),
                       str(x.shape()), k);
    if (src != nullptr && index.shape()[u] > src->shape()[u])
      fail<ShapeError>("{}: index shape {} is larger than the src shape {} in dim {}", op, str(index.shape()),
                       str(src->shape()), k);
  }
  const std::int64_t size = x.dim() == 0 ? 1 : x.shape()[static_cast<std::size_t>(d)];
  const Tensor values = index.contiguous();
  const auto* v = detail::element_ptr<std::int64_t>(values);
  for (std::int64_t i = 0; i < values.numel(); ++i)
    if (v[i] < 0 || v[i] >= size)
      fail<ValueError>("{}: index {} at position {} is out of range for dim {} of size {} (input shape {})", op, v[i],
                       str(detail::unravel_index(i, values.shape())), d, size, str(x.shape()));
  return d;
}

// out (index's shape, or a larger tensor read at index's coordinates) takes
// x[... index ...] along dim: out[p] = x[p with p[dim] = index[p]].
Tensor gather_kernel(const Tensor& x, std::int64_t dim, const Tensor& index, const Shape& out_shape) {
  Tensor out = out_shape == index.shape() ? detail::make_tensor(out_shape, x.dtype()) : zeros(out_shape, {.dtype = x.dtype()});
  if (index.numel() == 0) return out;
  Shape xs = x.dim() == 0 ? Shape{1} : x.strides();
  const std::int64_t along = xs[static_cast<std::size_t>(dim)];
  xs[static_cast<std::size_t>(dim)] = 0;
  const Shape& shape = index.dim() == 0 ? Shape{1} : index.shape();
  const Shape is = index.dim() == 0 ? Shape{1} : index.strides(), os = out.dim() == 0 ? Shape{1} : out.strides();
  detail::visit_all(x.dtype(), [&]<class T>() {
    const T* px = detail::element_ptr<T>(x);
    const auto* pi = detail::element_ptr<std::int64_t>(index);
    T* po = detail::element_ptr<T>(out);
    kernels::parallel_for_each_run<3>(shape, {&is, &xs, &os}, [&](const auto& off, std::int64_t n, const auto& step) {
      for (std::int64_t i = 0; i < n; ++i)
        po[off[2] + i * step[2]] = px[off[1] + i * step[1] + pi[off[0] + i * step[0]] * along];
    });
  });
  return out;
}

// zeros(out_shape) with src[p] added at p with p[dim] = index[p], for p over index's shape.
Tensor scatter_kernel(const Tensor& src, std::int64_t dim, const Tensor& index, const Shape& out_shape) {
  Tensor out = zeros(out_shape, {.dtype = src.dtype()});
  if (index.numel() == 0) return out;
  Shape os = out.dim() == 0 ? Shape{1} : out.strides();
  const std::int64_t along = os[static_cast<std::size_t>(dim)];
  os[static_cast<std::size_t>(dim)] = 0;
  const Shape& shape = index.dim() == 0 ? Shape{1} : index.shape();
  const Shape is = index.dim() == 0 ? Shape{1} : index.strides(), ss = src.dim() == 0 ? Shape{1} : src.strides();
  detail::visit_all(src.dtype(), [&]<class T>() {
    const T* ps = detail::element_ptr<T>(src);
    const auto* pi = detail::element_ptr<std::int64_t>(index);
    T* po = detail::element_ptr<T>(out);
    // Serial: two positions may add into one element.
    kernels::for_each_run<3>(shape, {&is, &os, &ss}, [&](const auto& off, std::int64_t n, const auto& step) {
      for (std::int64_t i = 0; i < n; ++i)
        po[off[1] + i * step[1] + pi[off[0] + i * step[0]] * along] += ps[off[2] + i * step[2]];
    });
  });
  return out;
}

// gather as a linear map of x (index fixed), with scatter into x's shape as its adjoint.
Tensor gather_checked(const Tensor& x, std::int64_t d, const Tensor& index) {
  auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
      "GatherBackward", "ScatterAddBackward",
      [d, index](const Tensor& v) { return gather_kernel(v, d, index, index.shape()); },
      [d, index, shape = x.shape()](const Tensor& g) { return scatter_kernel(g, d, index, shape); }});
  return detail::apply_linear(pair, x);
}

}  // namespace

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  detail::check_defined("gather", x);
  const std::int64_t d = check_index("gather", x, dim, index);
  return gather_checked(x, d, index.contiguous());
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  detail::check_defined("scatter_add", x);
  detail::check_defined("scatter_add", src, "src");
  detail::check_same_dtype("scatter_add", x, src);
  if (src.dim() != x.dim())
    fail<ShapeError>("scatter_add: src must have the input's rank {}, got src shape {} for input shape {}", x.dim(),
                     str(src.shape()), str(x.shape()));
  const std::int64_t d = check_index("scatter_add", x, dim, index, &src);
  const Tensor idx = index.contiguous();
  auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
      "ScatterAddBackward", "GatherBackward",
      [d, idx, shape = x.shape()](const Tensor& v) { return scatter_kernel(v, d, idx, shape); },
      [d, idx, shape = src.shape()](const Tensor& g) { return gather_kernel(g, d, idx, shape); }});
  return add(x, detail::apply_linear(pair, src));
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  detail::check_defined("index_select", x);
  check_index_dtype("index_select", index);
  if (index.dim() > 1)
    fail<ShapeError>("index_select: index must be 1-D or 0-D, got shape {}", str(index.shape()));
  const Tensor source = at_least_1d(x);
  const std::int64_t d = detail::wrap_dim("index_select", dim, source.dim());
  Shape along(static_cast<std::size_t>(source.dim()), 1), out_shape = source.shape();
  along[static_cast<std::size_t>(d)] = out_shape[static_cast<std::size_t>(d)] = index.numel();
  const Tensor expanded = contiguous(expand(reshape(index, along), out_shape));
  check_index("index_select", source, d, expanded);
  Tensor out = gather_checked(source, d, expanded);
  return x.dim() == 0 ? reshape(out, {}) : out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  detail::check_defined("where", condition, "condition");
  detail::check_defined("where", a, "first input");
  detail::check_defined("where", b, "second input");
  detail::check_same_dtype("where", a, b);
  const Shape shape = broadcast_shapes("where", broadcast_shapes("where", condition.shape(), a.shape()), b.shape());
  const Tensor ec = detail::broadcast_view("where", condition, shape), ea = detail::broadcast_view("where", a, shape),
               eb = detail::broadcast_view("where", b, shape);
  Tensor out = detail::visit_floating(a.dtype(), "where", [&]<class T>() {
    Tensor o = detail::make_tensor(shape, a.dtype());
    detail::visit_all(condition.dtype(), [&]<class C>() {
      const C* pc = detail::element_ptr<C>(ec);
      const T *pa = detail::element_ptr<T>(ea), *pb = detail::element_ptr<T>(eb);
      T* po = detail::element_ptr<T>(o);
      kernels::parallel_for_each_run<4>(shape, {&o.strides(), &ec.strides(), &ea.strides(), &eb.strides()},
                                        [&](const auto& off, std::int64_t n, const auto& step) {
                                          for (std::int64_t i = 0; i < n; ++i)
                                            po[off[0] + i * step[0]] = pc[off[1] + i * step[1]] != C(0)
                                                                           ? pa[off[2] + i * step[2]]
                                                                           : pb[off[3] + i * step[3]];
                                        });
    });
    return o;
  });
  if (!detail::any_requires_grad({a, b})) return out;
  return detail::record("WhereBackward", {a, b}, out,
                        [condition, sa = a.shape(), sb = b.shape()](const detail::BackwardArgs& args) {
                          // grad -> (grad where the condition holds, grad elsewhere), each summed to its input's shape
                          const Tensor& g = args.grad();
                          const Tensor zero = scalar_tensor(0, {.dtype = g.dtype()});
                          return std::vector<Tensor>{
                              args.needs_grad(0) ? sum_to(where(condition, g, zero), sa) : Tensor(),
                              args.needs_grad(1) ? sum_to(where(condition, zero, g), sb) : Tensor()};
                        });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  detail::check_defined("masked_fill", x);
  detail::check_defined("masked_fill", mask, "mask");
  if (broadcast_shapes("masked_fill", x.shape(), mask.shape()) != x.shape())
    fail<ShapeError>("masked_fill: mask of shape {} does not broadcast to the input's shape {}", str(mask.shape()),
                     str(x.shape()));
  detail::check_floating("masked_fill", x);
  return where(mask, scalar_tensor(value, {.dtype = x.dtype()}), x);
}

namespace {

// NaN above every number (PyTorch's order for sort and topk).
template <class T>
bool nan_greater(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

// For every line of x along dim, picks `k` positions in the order `before`
// (a strict weak order on (value, position)) and writes them to an i64 tensor of
// x's shape with size k along dim.
template <class Before>
Tensor ordered_positions(const Tensor& x, std::int64_t dim, std::int64_t k, Before before) {
  Shape shape = x.shape();
  const std::int64_t n = shape[static_cast<std::size_t>(dim)];
  shape[static_cast<std::size_t>(dim)] = k;
  Tensor out = detail::make_tensor(shape, i64);
  if (out.numel() == 0) return out;
  const std::int64_t xs = x.strides()[static_cast<std::size_t>(dim)], os = out.strides()[static_cast<std::size_t>(dim)];
  auto* po = detail::element_ptr<std::int64_t>(out);
  detail::visit_all(x.dtype(), [&]<class T>() {
    const T* px = detail::element_ptr<T>(x);
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for_each_line(x.shape(), dim, x.strides(), out.strides(), [&](std::int64_t xo, std::int64_t oo) {
      std::iota(order.begin(), order.end(), 0);
      const auto cmp = [&](std::int64_t i, std::int64_t j) { return before(px[xo + i * xs], px[xo + j * xs], i, j); };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
      for (std::int64_t j = 0; j < k; ++j) po[oo + j * os] = order[static_cast<std::size_t>(j)];
    });
  });
  return out;
}

// The order of sort / topk: by value (NaN above numbers), ties by position.
auto value_order(bool descending) {
  return [descending](auto a, auto b, std::int64_t i, std::int64_t j) {
    if (nan_greater(a, b)) return descending;
    if (nan_greater(b, a)) return !descending;
    return i < j;
  };
}

ValuesIndices sorted_along(const char* op, const Tensor& x, std::int64_t dim, std::int64_t k, bool descending) {
  const Tensor source = at_least_1d(x);
  const std::int64_t d = detail::wrap_dim(op, dim, source.dim());
  const std::int64_t n = source.shape()[static_cast<std::size_t>(d)];
  if (k < 0 || k > n)
    fail<ValueError>("{}: k = {} is out of range for dim {} of size {} (input shape {})", op, k, d, n,
                     str(x.shape()));
  const Tensor indices = ordered_positions(source, d, k, value_order(descending));
  Tensor values = gather_checked(source, d, indices);
  if (x.dim() == 0) return {reshape(values, {}), reshape(indices, {})};
  return {values, indices};
}

}  // namespace

ValuesIndices sort(const Tensor& x, SortOptions options) {
  detail::check_defined("sort", x);
  const std::int64_t n = x.dim() == 0 ? 1 : x.shape()[static_cast<std::size_t>(detail::wrap_dim("sort", options.dim, x.dim()))];
  return sorted_along("sort", x, options.dim, n, options.descending);
}

ValuesIndices topk(const Tensor& x, std::int64_t k, TopkOptions options) {
  detail::check_defined("topk", x);
  return sorted_along("topk", x, options.dim, k, options.largest);
}

namespace {

// Running sums along dim, from the start (or from the end: cumsum's adjoint).
Tensor running_sum(const Tensor& x, std::int64_t dim, bool from_end) {
  Tensor out = detail::make_tensor(x.shape(), x.dtype());
  if (out.numel() == 0) return out;
  const std::int64_t n = x.shape()[static_cast<std::size_t>(dim)];
  const std::int64_t xs = x.strides()[static_cast<std::size_t>(dim)], os = out.strides()[static_cast<std::size_t>(dim)];
  detail::visit_all(x.dtype(), [&]<class T>() {
    const T* px = detail::element_ptr<T>(x);
    T* po = detail::element_ptr<T>(out);
    for_each_line(x.shape(), dim, x.strides(), out.strides(), [&](std::int64_t xo, std::int64_t oo) {
      T total = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t i = from_end ? n - 1 - j : j;
        total += px[xo + i * xs];
        po[oo + i * os] = total;
      }
    });
  });
  return out;
}

}  // namespace

Tensor cumsum(const Tensor& x, std::int64_t dim) {
  detail::check_defined("cumsum", x);
  const Tensor source = at_least_1d(x);
  const std::int64_t d = detail::wrap_dim("cumsum", dim, source.dim());
  auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
      "CumsumBackward", "CumsumAdjointBackward", [d](const Tensor& v) { return running_sum(v, d, false); },
      [d](const Tensor& g) { return running_sum(g, d, true); }});
  Tensor out = detail::apply_linear(pair, source);
  return x.dim() == 0 ? reshape(out, {}) : out;
}

}  // namespace xgrad
