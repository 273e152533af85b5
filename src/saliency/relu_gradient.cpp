#include "ops/relu_gradient.hpp"

namespace xgrad::saliency {

ReluGradientGuard::ReluGradientGuard(ReluGradient rule) : previous_(detail::relu_gradient_rule()) {
  detail::set_relu_gradient_rule(rule);
}

ReluGradientGuard::~ReluGradientGuard() { detail::set_relu_gradient_rule(previous_); }

}  // namespace xgrad::saliency
