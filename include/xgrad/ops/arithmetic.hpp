#pragma once
/// \file ops/arithmetic.hpp
/// Element-wise arithmetic with NumPy broadcasting. Both tensors must have the
/// same floating dtype; a scalar takes the tensor's dtype.

#include "xgrad/tensor.hpp"

namespace xgrad {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor rsub(const Tensor& a, double b);  ///< b - a
Tensor rdiv(const Tensor& a, double b);  ///< b / a
Tensor neg(const Tensor& x);
/// x ** exponent; pow(x, 0) is 1 everywhere (gradient 0).
Tensor pow(const Tensor& x, double exponent);
/// base ** exponent element-wise with broadcasting; base must be positive where
/// the gradient with respect to exponent is needed (it uses log(base)).
Tensor pow(const Tensor& base, const Tensor& exponent);

/// The shape that a and b broadcast to; throws ShapeError naming `op` and both shapes.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
/// Sums `t` down to `shape` (the inverse of broadcasting), as the backward of
/// every broadcasting op needs. Differentiable.
Tensor sum_to(const Tensor& t, const Shape& shape);

}  // namespace xgrad
