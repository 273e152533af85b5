#pragma once
// Internal: indexing helpers shared with other op families.

#include <cstdint>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad::detail {

/// The slices of x at `positions` along dim (each in [0, x.size(dim)), unchecked;
/// dim wrapped), as index_select: a linear map recorded with index_add as its
/// adjoint, so differentiable to any order. pad's reflect / replicate / circular
/// modes are one of these per padded dim.
Tensor select_positions(const Tensor& x, std::int64_t dim, std::vector<std::int64_t> positions);

}  // namespace xgrad::detail
