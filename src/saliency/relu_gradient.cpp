// The saliency layer's relu rules, set on the ops layer's switch (ops/relu_gradient.hpp).

#include "ops/relu_gradient.hpp"
#include "xgrad/saliency.hpp"

namespace xgrad::saliency {

namespace {

detail::ReluRule to_rule(ReluGradient gradient) {
  switch (gradient) {
    case ReluGradient::guided:
      return detail::ReluRule::guided;
    case ReluGradient::deconvnet:
      return detail::ReluRule::deconvnet;
    case ReluGradient::standard:
      break;
  }
  return detail::ReluRule::standard;
}

ReluGradient from_rule(detail::ReluRule rule) {
  switch (rule) {
    case detail::ReluRule::guided:
      return ReluGradient::guided;
    case detail::ReluRule::deconvnet:
      return ReluGradient::deconvnet;
    case detail::ReluRule::standard:
      break;
  }
  return ReluGradient::standard;
}

}  // namespace

ReluGradientGuard::ReluGradientGuard(ReluGradient rule) : previous_(from_rule(detail::relu_rule())) {
  detail::set_relu_rule(to_rule(rule));
}

ReluGradientGuard::~ReluGradientGuard() { detail::set_relu_rule(to_rule(previous_)); }

}  // namespace xgrad::saliency
