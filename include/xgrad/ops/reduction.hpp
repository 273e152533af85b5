#pragma once
/// \file ops/reduction.hpp
/// Reductions over all elements or over a set of dims, with keepdim.
///
/// max and min return values only (like torch.amax / amin); where several
/// elements tie for the extreme, the gradient is split evenly among them, as
/// torch.amax does. argmax / argmin return i64 indices (first occurrence) and
/// are not differentiable.

#include <cstdint>

#include "xgrad/tensor.hpp"

namespace xgrad {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor min(const Tensor& x);
Tensor min(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);

}  // namespace xgrad
