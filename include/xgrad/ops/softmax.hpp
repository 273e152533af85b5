#pragma once
/// \file ops/softmax.hpp
/// softmax and log_softmax along one dim, numerically stable for large logits
/// (the maximum is subtracted before exponentiation).

#include <cstdint>

#include "xgrad/tensor.hpp"

namespace xgrad {

Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);

}  // namespace xgrad
