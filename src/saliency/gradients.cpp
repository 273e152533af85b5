// Gradient views of the input: vanilla, guided backpropagation, deconvnet.

#include "saliency/support.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/saliency.hpp"

namespace xgrad::saliency {

Tensor detail::class_gradient(const char* fn, nn::Module& model, const Tensor& input, std::int64_t class_index,
                              ReluGradient rule) {
  check_arguments(fn, input, class_index);
  const GradModeOn grad_mode;
  const ReluGradientGuard relu_rule(rule);
  const FrozenParameters frozen(model);  // the graph then holds only what depends on the input
  Tensor x = input.detach();
  x.requires_grad_();
  const Tensor score = class_score(fn, model(x), class_index);
  return autograd::grad({score}, {x}).front();
}

Tensor input_gradient(nn::Module& model, const Tensor& input, std::int64_t class_index) {
  return detail::class_gradient("input_gradient", model, input, class_index, ReluGradient::standard);
}

Tensor guided_backprop(nn::Module& model, const Tensor& input, std::int64_t class_index) {
  return detail::class_gradient("guided_backprop", model, input, class_index, ReluGradient::guided);
}

Tensor deconvnet(nn::Module& model, const Tensor& input, std::int64_t class_index) {
  return detail::class_gradient("deconvnet", model, input, class_index, ReluGradient::deconvnet);
}

}  // namespace xgrad::saliency
