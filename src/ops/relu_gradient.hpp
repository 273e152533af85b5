#pragma once
// Internal: the relu backward rule of the calling thread, read by relu when it
// records. saliency::ReluGradientGuard sets it, mapping its public enum onto this
// one, so that ops never looks up at the saliency layer.

namespace xgrad::detail {

enum class ReluRule { standard, guided, deconvnet };

ReluRule relu_rule();
void set_relu_rule(ReluRule rule);

}  // namespace xgrad::detail
