// Grad-CAM and guided Grad-CAM.

#include <memory>

#include "saliency/support.hpp"
#include "util/check.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/ops/activation.hpp"
#include "xgrad/saliency.hpp"

namespace xgrad::saliency {

using xgrad::detail::fail;
using xgrad::detail::str;

namespace {

// The layer's output A [1, K, h, w] (its last call) and d score / d A, from one
// forward and one backward pass.
struct LayerGradient {
  Tensor activations, gradient;
};

LayerGradient layer_gradient(const char* fn, nn::Module& model, const std::string& layer_name, const Tensor& input,
                             std::int64_t class_index) {
  nn::Module& layer = *detail::find_module(fn, model, layer_name);
  const detail::GradModeOn grad_mode;
  const ReluGradientGuard relu_rule(ReluGradient::standard);
  // With the parameters frozen and the input a plain tensor, nothing records
  // until the hook makes the layer's output a leaf that requires grad: the
  // graph then starts at A, and backward visits only the layers after it.
  const detail::FrozenParameters frozen(model);
  LayerGradient result;
  detail::ScopedHooks hooks;
  hooks.add(layer, [&result](nn::Module&, const Tensor&, const Tensor& output) {
    result.activations = output;
    if (output.dim() == 4 && !output.requires_grad()) result.activations.requires_grad_();
  });
  const Tensor score = detail::class_score(fn, model(input.detach()), class_index);
  const Tensor& a = result.activations;
  if (!a.defined()) fail<ValueError>("{}: layer \"{}\" was not called by the model's forward", fn, layer_name);
  if (a.dim() != 4 || a.size(0) != 1)
    fail<ValueError>("{}: layer \"{}\" outputs shape {}, not feature maps [1, K, h, w]", fn, layer_name,
                     str(a.shape()));
  result.gradient = autograd::grad({score}, {a}, {}, {.allow_unused = true}).front();
  if (!result.gradient.defined())
    fail<ValueError>("{}: the class score does not depend on the output of layer \"{}\"", fn, layer_name);
  return result;
}

Tensor grad_cam_map(const char* fn, nn::Module& model, const std::string& layer_name, const Tensor& input,
                    std::int64_t class_index) {
  detail::check_arguments(fn, input, class_index);
  const LayerGradient g = layer_gradient(fn, model, layer_name, input, class_index);
  const NoGradGuard no_grad;
  const Tensor alpha = g.gradient.mean({2, 3}, /*keepdim=*/true);        // [1, K, 1, 1]
  const Tensor map = relu((alpha * g.activations).sum(1)).select(0, 0);  // [h, w]
  return detail::fit_to_input(map, input);
}

}  // namespace

Tensor grad_cam(nn::Module& model, const std::string& layer_name, const Tensor& input, std::int64_t class_index) {
  return grad_cam_map("grad_cam", model, layer_name, input, class_index);
}

Tensor guided_grad_cam(nn::Module& model, const std::string& layer_name, const Tensor& input,
                       std::int64_t class_index) {
  const char* fn = "guided_grad_cam";
  const Tensor map = grad_cam_map(fn, model, layer_name, input, class_index);  // [H, W]
  const Tensor guided = detail::class_gradient(fn, model, input, class_index, ReluGradient::guided);
  const NoGradGuard no_grad;
  return guided * map;
}

}  // namespace xgrad::saliency
