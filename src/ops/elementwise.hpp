#pragma once
// Internal: element-wise maps over strided, broadcast tensors. The functor is a
// generic lambda applied per element, e.g. unary_map("exp", x, [](auto v) { return std::exp(v); }).
// Outputs are fresh contiguous tensors; inputs may be any view.

#include <array>
#include <cstdint>

#include "kernels/strided_loop.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/dispatch.hpp"
#include "xgrad/ops/arithmetic.hpp"

namespace xgrad::detail {

/// A stride-0 view of `t` with the shape `shape`; throws ShapeError naming `op`
/// when t does not broadcast to it.
Tensor broadcast_view(const char* op, const Tensor& t, const Shape& shape);

/// out = f(x), same dtype as x (floating only).
template <class F>
Tensor unary_map(const char* op, const Tensor& x, F f) {
  check_defined(op, x);
  return visit_floating(x.dtype(), op, [&]<class T>() {
    Tensor out = make_tensor(x.shape(), x.dtype());
    T* o = element_ptr<T>(out);
    const T* in = element_ptr<T>(x);
    kernels::parallel_for_each_run<2>(out.shape(), {&out.strides(), &x.strides()},
                             [&](const auto& off, std::int64_t n, const auto& step) {
                               T* po = o + off[0];
                               const T* pi = in + off[1];
                               if (step[1] == 1) {
                                 for (std::int64_t i = 0; i < n; ++i) po[i] = static_cast<T>(f(pi[i]));
                               } else {
                                 for (std::int64_t i = 0; i < n; ++i) po[i] = static_cast<T>(f(pi[i * step[1]]));
                               }
                             });
    return out;
  });
}

/// out = f(a, b) with broadcasting; a and b share one floating dtype.
template <class F>
Tensor binary_map(const char* op, const Tensor& a, const Tensor& b, F f) {
  check_defined(op, a, "first input");
  check_defined(op, b, "second input");
  check_same_dtype(op, a, b);
  const Shape shape = broadcast_shapes(op, a.shape(), b.shape());
  const Tensor ea = broadcast_view(op, a, shape);
  const Tensor eb = broadcast_view(op, b, shape);
  return visit_floating(a.dtype(), op, [&]<class T>() {
    Tensor out = make_tensor(shape, a.dtype());
    T* o = element_ptr<T>(out);
    const T* pa = element_ptr<T>(ea);
    const T* pb = element_ptr<T>(eb);
    kernels::parallel_for_each_run<3>(shape, {&out.strides(), &ea.strides(), &eb.strides()},
                             [&](const auto& off, std::int64_t n, const auto& step) {
                               T* po = o + off[0];
                               const T* xa = pa + off[1];
                               const T* xb = pb + off[2];
                               if (step[1] == 1 && step[2] == 1) {
                                 for (std::int64_t i = 0; i < n; ++i) po[i] = static_cast<T>(f(xa[i], xb[i]));
                               } else {
                                 for (std::int64_t i = 0; i < n; ++i)
                                   po[i] = static_cast<T>(f(xa[i * step[1]], xb[i * step[2]]));
                               }
                             });
    return out;
  });
}

/// dst = f(dst, src) in place, src broadcast to dst's shape; dst may be any view
/// (it must not overlap itself, e.g. an expanded tensor). Converts src's dtype.
/// Throws ValueError naming `op` when dst is an expanded tensor (a stride 0 over
/// more than one element): writing into it in place would write one element twice.
inline void check_writable_in_place(const char* op, const Tensor& dst) {
  for (std::size_t d = 0; d < dst.shape().size(); ++d)
    if (dst.strides()[d] == 0 && dst.shape()[d] > 1)
      fail<ValueError>("{}: cannot write in place into an expanded tensor of shape {} (dim {} has stride 0); "
                       "call contiguous() first",
                       op, str(dst.shape()), d);
}

template <class F>
void inplace_map(const char* op, const Tensor& dst, const Tensor& src, F f) {
  check_writable_in_place(op, dst);
  const Tensor es = broadcast_view(op, src, dst.shape());
  visit_all(dst.dtype(), [&]<class D>() {
    visit_all(src.dtype(), [&]<class S>() {
      D* pd = element_ptr<D>(dst);
      const S* ps = element_ptr<S>(es);
      kernels::for_each_run<2>(dst.shape(), {&dst.strides(), &es.strides()},
                               [&](const auto& off, std::int64_t n, const auto& step) {
                                 for (std::int64_t i = 0; i < n; ++i) {
                                   D& d = pd[off[0] + i * step[0]];
                                   d = static_cast<D>(f(d, static_cast<D>(ps[off[1] + i * step[1]])));
                                 }
                               });
    });
  });
  dst.impl()->storage->bump_version();
}

/// grad * slope(x) for a backward whose slope is piecewise constant in x (masks,
/// signs): one fused map (a zero slope blocks even an infinite gradient); under
/// create_graph the product of grad with the slope as a constant tensor, so that
/// the result stays differentiable in grad (its derivative in x is zero almost
/// everywhere).
template <class Slope>
Tensor times_constant_slope(const char* node, const Tensor& grad, const Tensor& x, Slope slope) {
  if (is_grad_enabled()) return mul(grad, unary_map(node, x, slope));
  return binary_map(node, grad, x, [slope](auto g, auto v) {
    const auto s = slope(v);
    return s == 0 ? s : g * s;
  });
}

/// A fresh contiguous copy of x converted to `dtype` (not recorded).
inline Tensor copy_as(const Tensor& x, DType dtype) {
  Tensor out = make_tensor(x.shape(), dtype);
  inplace_map("copy", out, x, [](auto, auto v) { return v; });
  return out;
}

}  // namespace xgrad::detail
