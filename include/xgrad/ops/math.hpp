#pragma once
/// \file ops/math.hpp
/// Element-wise math functions (differentiable, floating dtypes).

#include <optional>

#include "xgrad/tensor.hpp"

namespace xgrad {

Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
/// Gradient at 0 is 0 (as PyTorch).
Tensor abs(const Tensor& x);
/// Limits x to [min, max]; either bound may be absent, not both; NaN stays NaN. The gradient is 1 where
/// min <= x <= max (bounds included, as PyTorch) and 0 outside.
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);

}  // namespace xgrad
