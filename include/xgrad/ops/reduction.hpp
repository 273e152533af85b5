#pragma once
/// \file ops/reduction.hpp
/// Reductions over all elements or over a set of dims, with keepdim.
///
/// max / min of a whole tensor and amax / amin over dims return values; where
/// several elements tie for the extreme, the gradient is split evenly among them
/// (as torch.amax and torch.max(x)). max / min along one dim return {values,
/// indices} as torch.max(x, dim): the index of the first extreme (NaN counts as
/// the extreme, as PyTorch), and the gradient goes to that element alone.
/// argmax / argmin return i64 indices (first occurrence), not differentiable.

#include <cstdint>

#include "xgrad/tensor.hpp"

namespace xgrad {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);

/// log(sum(exp(x))) over dims, computed as m + log(sum(exp(x - m))) with m the
/// maximum (so finite for logits of 1e3 and beyond); the gradient is softmax(x).
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);

/// The vector p-norm over dims (all of them when dims is empty), as
/// torch.linalg.vector_norm: (sum |x|^p)^(1/p) for p > 0; max |x| for p = inf,
/// min |x| for -inf, the count of nonzeros for 0 (not differentiable). The
/// gradient is zero where the norm is zero (p > 0), and at inf / -inf it is
/// split evenly among the elements that tie, as PyTorch.
Tensor norm(const Tensor& x, double p = 2.0, const Dims& dims = {}, bool keepdim = false);

}  // namespace xgrad
