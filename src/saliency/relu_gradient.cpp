// The saliency layer's relu rules, set on the ops layer's switch (ops/relu_gradient.hpp).
// The two enums list the same rules in the same order, so one converts to the other.

#include "ops/relu_gradient.hpp"

#include "xgrad/saliency.hpp"

namespace xgrad::saliency {

namespace {

static_assert(static_cast<int>(ReluGradient::standard) == static_cast<int>(detail::ReluRule::standard) &&
              static_cast<int>(ReluGradient::guided) == static_cast<int>(detail::ReluRule::guided) &&
              static_cast<int>(ReluGradient::deconvnet) == static_cast<int>(detail::ReluRule::deconvnet));

detail::ReluRule to_rule(ReluGradient gradient) { return static_cast<detail::ReluRule>(gradient); }
ReluGradient from_rule(detail::ReluRule rule) { return static_cast<ReluGradient>(rule); }

}  // namespace

ReluGradientGuard::ReluGradientGuard(ReluGradient rule) : previous_(from_rule(detail::relu_rule())) {
  detail::set_relu_rule(to_rule(rule));
}

ReluGradientGuard::~ReluGradientGuard() { detail::set_relu_rule(to_rule(previous_)); }

}  // namespace xgrad::saliency
