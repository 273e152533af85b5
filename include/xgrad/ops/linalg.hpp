#pragma once
/// \file ops/linalg.hpp
/// Matrix products (differentiable, floating dtypes).

#include "xgrad/tensor.hpp"

namespace xgrad {

/// [M,K]x[K,N] -> [M,N]; [B,M,K]x[B,K,N] -> [B,M,N]; a 3-D operand with a 2-D one
/// broadcasts the 2-D one over the batch; a batch of 1 broadcasts to B.
/// 1-D operands are treated as a row (left) or column (right) vector and the
/// added dim is removed from the result, as torch.matmul. In general every dim
/// before the last two is a batch dim, any number of them, broadcast with NumPy's
/// rules: [2, 1, M, K] x [3, K, N] -> [2, 3, M, N].
/// Strided operands (transposed views included) are read without a copy when one
/// of their last two strides is 1.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x·Wᵀ + b for x [..., in] (any number of leading dims, 1-D x included),
/// weight [out, in], bias [out] (optional); the result is [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace xgrad
