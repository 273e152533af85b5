#pragma once
/// \file xtensor.hpp
/// Interop with xtensor (kept out of the core headers: include it where needed,
/// and link the `xtensor` CMake target from Debian's libxtensor-dev).
///
///   xt::xarray<double> a = xt::linspace<double>(0, 1, 6);
///   xgrad::Tensor t = xgrad::from_xtensor(xt::reshape_view(a, {2, 3}));
///   auto view = xgrad::as_xtensor<double>(t.t());   // strided, no copy
///   double total = xt::sum(view)();

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// A read-only xtensor expression over t's elements, with t's shape and strides
/// (views included; no copy). T must match t.dtype(). It borrows t's storage:
/// keep t (or a view of it) alive while using it.
template <class T>
auto as_xtensor(const Tensor& t) {
  const T* first = t.strided_data<T>();
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  std::vector<std::ptrdiff_t> strides(t.strides().begin(), t.strides().end());
  // xtensor sizes an adaptor's buffer as the product of the shape, whatever the
  // strides; elements are still reached through the strides from `first`.
  return xt::adapt(first, static_cast<std::size_t>(t.numel()), xt::no_ownership(), shape, strides);
}

/// A new tensor holding a copy of an xtensor expression's values; the dtype
/// defaults to the expression's value type (float, double or int64_t).
template <class E>
Tensor from_xtensor(const xt::xexpression<E>& expression, TensorOptions options = {}) {
  using T = typename E::value_type;
  const xt::xarray<T> values = expression;  // evaluates row-major
  Shape shape(values.shape().begin(), values.shape().end());
  std::vector<T> flat(values.begin(), values.end());
  return from_vector(flat, {static_cast<std::int64_t>(flat.size())}, options).reshape(shape);
}

}  // namespace xgrad
