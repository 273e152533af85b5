#pragma once
/// \file nn/activation.hpp
/// Activation layers, as torch.nn.ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax
/// and LogSoftmax; each applies the functional op of the same name.
///
///   auto act = std::make_shared<xgrad::nn::ReLU>();
///   auto probs = std::make_shared<xgrad::nn::Softmax>(1);

#include <cstdint>
#include <string>
#include <string_view>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

/// ReLU(true) is PyTorch's ReLU(inplace=True), as torchvision's models use it:
/// when no graph is being recorded for the input (NoGradGuard, or an input that
/// does not require grad) and no tracer or forward-mode level is watching, it
/// overwrites its input instead of allocating an output, which saves one
/// activation per layer in inference. Otherwise it is relu(input).
class ReLU final : public Module {
 public:
  explicit ReLU(bool in_place = false) : Module("ReLU"), inplace(in_place) {}
  Tensor forward(const Tensor& input) override;
  /// "inplace=True" when set
  std::string extra_repr() const override;

  const bool inplace;
};

class LeakyReLU final : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01);
  Tensor forward(const Tensor& input) override;
  /// "negative_slope=0.01"
  std::string extra_repr() const override;

  const double negative_slope;
};

class Sigmoid final : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& input) override;
};

class Tanh final : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& input) override;
};

class GELU final : public Module {
 public:
  /// approximate: "none" (exact, erf) or "tanh"; anything else throws ValueError.
  explicit GELU(std::string_view approximate = "none");
  Tensor forward(const Tensor& input) override;
  /// "approximate='none'"
  std::string extra_repr() const override;

  const std::string approximate;
};

class Softmax final : public Module {
 public:
  explicit Softmax(std::int64_t dim);
  Tensor forward(const Tensor& input) override;
  /// "dim=1"
  std::string extra_repr() const override;

  const std::int64_t dim;
};

class LogSoftmax final : public Module {
 public:
  explicit LogSoftmax(std::int64_t dim);
  Tensor forward(const Tensor& input) override;
  /// "dim=1"
  std::string extra_repr() const override;

  const std::int64_t dim;
};

}  // namespace xgrad::nn
