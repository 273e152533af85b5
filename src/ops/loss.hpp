#pragma once
// Internal: what the losses (loss.cpp, loss_pointwise.cpp) share.

#include "xgrad/ops/loss.hpp"

namespace xgrad::detail {

/// Throws ValueError naming `op` for a reduction it does not take (batchmean,
/// unless batchmean_allowed; a value outside the enum).
void check_reduction(const char* op, Reduction reduction, bool batchmean_allowed);

/// A weight the loss treats as a constant (no gradient, as PyTorch): throws
/// AutogradError naming `op` and `what` when it requires grad while grad mode is on.
void check_constant_weight(const char* op, const Tensor& weight, const char* what);

/// losses reduced by none, sum or mean (NaN for an empty input), recorded.
Tensor reduce_loss(const char* op, const Tensor& losses, Reduction reduction);

}  // namespace xgrad::detail
