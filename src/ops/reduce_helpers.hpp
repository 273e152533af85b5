#pragma once
// Internal: the layout work shared by reductions. A reduction over `dims` is
// done on a copy of x permuted so that the kept dims come first and the reduced
// dims last: then every output element reduces one contiguous run of `inner`.

#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad::detail {

struct ReducePlan {
  std::vector<bool> reduced;  // per input dim
  Shape out_shape;            // without the reduced dims
  Shape keepdim_shape;        // reduced dims as size 1
  std::int64_t outer = 1;     // number of output elements
  std::int64_t inner = 1;     // elements reduced into each
  Shape order;                // kept dims, then reduced dims
};

/// Plans a reduction of x over dims (empty = all); dims may be negative, must
/// not repeat. Throws ValueError naming `op`.
ReducePlan plan_reduction(const char* op, const Tensor& x, const Dims& dims);

/// x's elements laid out as a contiguous [outer, inner] tensor (not recorded;
/// no copy when x already has that layout).
Tensor reduction_rows(const Tensor& x, const ReducePlan& plan);

/// The result shape for keepdim on or off.
inline const Shape& result_shape(const ReducePlan& plan, bool keepdim) {
  return keepdim ? plan.keepdim_shape : plan.out_shape;
}

}  // namespace xgrad::detail
