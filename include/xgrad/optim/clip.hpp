#pragma once
/// \file optim/clip.hpp
/// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
/// Call between backward() and the optimiser's step():
///
///   loss.backward();
///   xgrad::optim::clip_grad_norm_(net->parameters(), 1.0);
///   opt.step();

#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad::optim {

/// The norm of all gradients together (as if concatenated into one vector):
/// norm_type > 0, or infinity for the largest magnitude. When it exceeds
/// max_norm, scales every gradient in place by max_norm / (total + 1e-6) (so the
/// factor is min(1, max_norm / (total + 1e-6)), exactly as PyTorch). Parameters
/// without a gradient are skipped. Returns the total norm before clipping.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

/// Clamps every gradient element in place to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace xgrad::optim
