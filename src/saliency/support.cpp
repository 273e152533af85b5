#include "saliency/support.hpp"

#include "util/check.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/ops/upsample.hpp"
#include "xgrad/saliency.hpp"

namespace xgrad::saliency::detail {

using xgrad::detail::fail;
using xgrad::detail::str;

void check_arguments(const char* fn, const Tensor& input, std::int64_t class_index) {
  xgrad::detail::check_defined(fn, input);
  if (input.dim() != 4 || input.size(0) != 1)
    fail<ShapeError>("{}: expected one image [1, C, H, W], got shape {}", fn, str(input.shape()));
  xgrad::detail::check_floating(fn, input);
  if (class_index < 0) fail<ValueError>("{}: class_index must be >= 0, got {}", fn, class_index);
}

Tensor class_score(const char* fn, const Tensor& logits, std::int64_t class_index) {
  if (logits.dim() != 2 || logits.size(0) != 1)
    fail<ShapeError>("{}: expected the model to output class scores [1, classes], got shape {}", fn,
                     str(logits.shape()));
  if (class_index >= logits.size(1))
    fail<ValueError>("{}: class_index {} is out of range for the model's {} classes", fn, class_index, logits.size(1));
  return logits.select(1, class_index);
}

std::shared_ptr<nn::Module> find_module(const char* fn, nn::Module& model, const std::string& name) {
  try {
    return model.find(name);
  } catch (const ValueError& e) {
    fail<ValueError>("{}: {}", fn, e.what());
  }
}

ScopedHooks::~ScopedHooks() {
  for (const auto& [module, id] : hooks_) module->remove_forward_hook(id);
}

void ScopedHooks::add(nn::Module& module, nn::Module::ForwardHook hook) {
  hooks_.reserve(hooks_.size() + 1);  // so that push_back cannot throw once the hook is in
  hooks_.emplace_back(&module, module.register_forward_hook(std::move(hook)));
}

FrozenParameters::FrozenParameters(nn::Module& model) {
  std::vector<Tensor> parameters = model.parameters();
  frozen_.reserve(parameters.size());
  for (Tensor& p : parameters)
    if (p.requires_grad()) {
      p.requires_grad_(false);
      frozen_.push_back(p);
    }
}

FrozenParameters::~FrozenParameters() {
  for (Tensor& p : frozen_) p.requires_grad_(true);
}

GradModeOn::GradModeOn() : previous_(is_grad_enabled()) { set_grad_enabled(true); }
GradModeOn::~GradModeOn() { set_grad_enabled(previous_); }

Tensor fit_to_input(const Tensor& map, const Tensor& input) {
  const std::int64_t height = input.size(2), width = input.size(3);
  const Tensor resized = upsample_bilinear2d(map.reshape({1, 1, map.size(0), map.size(1)}), {height, width});
  return normalize(resized.reshape({height, width}));
}

}  // namespace xgrad::saliency::detail
