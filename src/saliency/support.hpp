#pragma once
// Internal: what the saliency functions share: argument checks, the class
// score, scoped changes to the model (hooks, requires_grad, grad mode), and
// turning a small map into a normalised [H, W] one.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/saliency.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::saliency::detail {

/// Throws unless input is a floating [1, C, H, W] tensor and class_index >= 0
/// (the upper bound is checked against the model's output by class_score).
void check_arguments(const char* fn, const Tensor& input, std::int64_t class_index);

/// logits[0, class_index] as a one-element tensor; throws ShapeError unless the
/// model's output is [1, classes], ValueError unless class_index < classes.
Tensor class_score(const char* fn, const Tensor& logits, std::int64_t class_index);

/// model.find(name), its ValueError (which lists the valid names) prefixed with fn.
std::shared_ptr<nn::Module> find_module(const char* fn, nn::Module& model, const std::string& name);

/// Forward hooks registered for the guard's lifetime.
class ScopedHooks {
 public:
  ScopedHooks() = default;
  ~ScopedHooks();
  ScopedHooks(const ScopedHooks&) = delete;
  ScopedHooks& operator=(const ScopedHooks&) = delete;

  void add(nn::Module& module, nn::Module::ForwardHook hook);

 private:
  std::vector<std::pair<nn::Module*, int>> hooks_;
};

/// While alive, the model's parameters do not require grad (so a backward
/// never computes weight gradients); the ones that did are switched back after.
class FrozenParameters {
 public:
  explicit FrozenParameters(nn::Module& model);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<Tensor> frozen_;
};

/// While alive, grad mode is on for this thread (the previous mode comes back after).
class GradModeOn {
 public:
  GradModeOn();
  ~GradModeOn();
  GradModeOn(const GradModeOn&) = delete;
  GradModeOn& operator=(const GradModeOn&) = delete;

 private:
  bool previous_;
};

/// The gradient of the class score with respect to the input [1, C, H, W], with
/// relu's backward following `rule` (input_gradient, guided_backprop, deconvnet).
Tensor class_gradient(const char* fn, nn::Module& model, const Tensor& input, std::int64_t class_index,
                      ReluGradient rule);

/// A map [h, w] bilinearly resized (align_corners false) to the input's [H, W]
/// and min-max normalised to [0, 1].
Tensor fit_to_input(const Tensor& map, const Tensor& input);

}  // namespace xgrad::saliency::detail
