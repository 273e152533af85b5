#pragma once
// Internal: the relu backward rule of the calling thread, read by relu when it
// records and set by saliency::ReluGradientGuard.

#include "xgrad/saliency.hpp"

namespace xgrad::detail {

saliency::ReluGradient relu_gradient_rule();
void set_relu_gradient_rule(saliency::ReluGradient rule);

}  // namespace xgrad::detail
