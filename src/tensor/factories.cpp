// Tensor factories.

#include <cmath>

#include "tensor/tensor_impl.hpp"
#include "util/dispatch.hpp"
#include "xgrad/random.hpp"

namespace xgrad {

using detail::fail;
using detail::str;

namespace {

void check_shape(const char* op, const Shape& shape) {
  for (std::int64_t s : shape)
    if (s < 0) fail<ShapeError>("{}: negative size {} in shape {}", op, s, str(shape));
}

Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad) t.requires_grad_(true);
  return t;
}

template <class Fill>
Tensor generate(const char* op, const Shape& shape, DType dtype, Fill fill) {
  check_shape(op, shape);
  Tensor t = detail::make_tensor(shape, dtype);
  detail::visit_all(dtype, [&]<class T>() {
    T* p = detail::element_ptr<T>(t);
    const std::int64_t n = t.numel();
    fill(p, n);
  });
  return t;
}

}  // namespace

Tensor empty(const Shape& shape, TensorOptions options) {
  check_shape("empty", shape);
  return finish(detail::make_tensor(shape, options.dtype.value_or(f32)), options);
}

namespace {

Tensor filled(const char* op, const Shape& shape, double value, const TensorOptions& options) {
  return finish(generate(op, shape, options.dtype.value_or(f32),
                         [value](auto* p, std::int64_t n) {
                           using T = std::remove_pointer_t<decltype(p)>;
                           std::fill(p, p + n, static_cast<T>(value));
                         }),
                options);
}

}  // namespace

Tensor full(const Shape& shape, double value, TensorOptions options) { return filled("full", shape, value, options); }
Tensor zeros(const Shape& shape, TensorOptions options) { return filled("zeros", shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return filled("ones", shape, 1.0, options); }
Tensor scalar_tensor(double value, TensorOptions options) { return full({}, value, options); }

Tensor zeros_like(const Tensor& t, TensorOptions options) {
  return full(t.shape(), 0.0, {options.dtype.value_or(t.dtype()), options.requires_grad});
}
Tensor ones_like(const Tensor& t, TensorOptions options) {
  return full(t.shape(), 1.0, {options.dtype.value_or(t.dtype()), options.requires_grad});
}
Tensor full_like(const Tensor& t, double value, TensorOptions options) {
  return full(t.shape(), value, {options.dtype.value_or(t.dtype()), options.requires_grad});
}

Tensor arange(double end, TensorOptions options) { return arange(0.0, end, 1.0, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  if (step == 0.0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    fail<ValueError>("arange: invalid range start={} end={} step={}", start, end, step);
  const auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil((end - start) / step)));
  return finish(generate("arange", {n}, options.dtype.value_or(f32),
                         [start, step](auto* p, std::int64_t count) {
                           using T = std::remove_pointer_t<decltype(p)>;
                           for (std::int64_t i = 0; i < count; ++i)
                             p[i] = static_cast<T>(start + static_cast<double>(i) * step);
                         }),
                options);
}

Tensor randn(const Shape& shape, TensorOptions options) {
  const DType dtype = options.dtype.value_or(f32);
  if (!is_floating(dtype)) fail<DTypeError>("randn: dtype must be f32 or f64, got {}", dtype_name(dtype));
  return finish(generate("randn", shape, dtype,
                         [](auto* p, std::int64_t n) {
                           using T = std::remove_pointer_t<decltype(p)>;
                           Generator& g = default_generator();
                           std::lock_guard lock(g.mutex());
                           for (std::int64_t i = 0; i < n; i += 2) {
                             double a = 0, b = 0;
                             g.normal_pair(a, b);
                             p[i] = static_cast<T>(a);
                             if (i + 1 < n) p[i + 1] = static_cast<T>(b);
                           }
                         }),
                options);
}

Tensor rand(const Shape& shape, TensorOptions options) {
  const DType dtype = options.dtype.value_or(f32);
  if (!is_floating(dtype)) fail<DTypeError>("rand: dtype must be f32 or f64, got {}", dtype_name(dtype));
  return finish(generate("rand", shape, dtype,
                         [](auto* p, std::int64_t n) {
                           using T = std::remove_pointer_t<decltype(p)>;
                           Generator& g = default_generator();
                           std::lock_guard lock(g.mutex());
                           for (std::int64_t i = 0; i < n; ++i) {
                             // Rounding to float can give 1.0; draw again so the range stays [0, 1).
                             T v = static_cast<T>(g.uniform());
                             while (v >= T(1)) v = static_cast<T>(g.uniform());
                             p[i] = v;
                           }
                         }),
                options);
}

Tensor randn_like(const Tensor& t, TensorOptions options) {
  return randn(t.shape(), {options.dtype.value_or(t.dtype()), options.requires_grad});
}
Tensor rand_like(const Tensor& t, TensorOptions options) {
  return rand(t.shape(), {options.dtype.value_or(t.dtype()), options.requires_grad});
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions options) {
  const Shape target = shape.empty() ? Shape{static_cast<std::int64_t>(values.size())} : shape;
  check_shape("from_vector", target);
  if (detail::shape_numel(target) != static_cast<std::int64_t>(values.size()))
    fail<ShapeError>("from_vector: {} values do not fill shape {} ({} elements)", values.size(), str(target),
                     detail::shape_numel(target));
  using Source = std::conditional_t<std::is_same_v<T, int>, std::int64_t, T>;
  const DType dtype = options.dtype.value_or(dtype_of<Source>);
  return finish(generate("from_vector", target, dtype,
                         [&values](auto* p, std::int64_t n) {
                           using D = std::remove_pointer_t<decltype(p)>;
                           for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<D>(values[static_cast<std::size_t>(i)]);
                         }),
                options);
}

template Tensor from_vector<float>(const std::vector<float>&, const Shape&, TensorOptions);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, TensorOptions);
template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, const Shape&, TensorOptions);
template Tensor from_vector<int>(const std::vector<int>&, const Shape&, TensorOptions);

}  // namespace xgrad
