#pragma once
/// \file nn/activation.hpp
/// Activation layers, as torch.nn.ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax,
/// LogSoftmax, ELU, SELU, CELU, SiLU, Hardswish, Hardsigmoid, Mish, Softplus, ReLU6,
/// Hardtanh, LogSigmoid and PReLU; each applies the functional op of the same name
/// (ops/activation.hpp) with the options it was made with. Their extra_repr is
/// PyTorch's ("alpha=1.0", "beta=1, threshold=20"). Of PyTorch's `inplace` flags only
/// ReLU's is offered.
///
///   auto act = std::make_shared<xgrad::nn::ReLU>();
///   auto probs = std::make_shared<xgrad::nn::Softmax>(1);
///   auto prelu = std::make_shared<xgrad::nn::PReLU>(64);  // one learnable slope per channel

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

class ELU final : public Module {
 public:
  explicit ELU(double alpha = 1.0);
  Tensor forward(const Tensor& input) override;
  /// "alpha=1.0"
  std::string extra_repr() const override;

  const double alpha;
};

class SELU final : public Module {
 public:
  SELU() : Module("SELU") {}
  Tensor forward(const Tensor& input) override;
};

class CELU final : public Module {
 public:
  /// alpha 0 throws ValueError.
  explicit CELU(double alpha = 1.0);
  Tensor forward(const Tensor& input) override;
  /// "alpha=1.0"
  std::string extra_repr() const override;

  const double alpha;
};

class SiLU final : public Module {
 public:
  SiLU() : Module("SiLU") {}
  Tensor forward(const Tensor& input) override;
};

class Hardswish final : public Module {
 public:
  Hardswish() : Module("Hardswish") {}
  Tensor forward(const Tensor& input) override;
};

class Hardsigmoid final : public Module {
 public:
  Hardsigmoid() : Module("Hardsigmoid") {}
  Tensor forward(const Tensor& input) override;
};

class Mish final : public Module {
 public:
  Mish() : Module("Mish") {}
  Tensor forward(const Tensor& input) override;
};

class Softplus final : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0);
  Tensor forward(const Tensor& input) override;
  /// "beta=1, threshold=20" (PyTorch's defaults are ints)
  std::string extra_repr() const override;

  const double beta;
  const double threshold;
};

class ReLU6 final : public Module {
 public:
  ReLU6() : Module("ReLU6") {}
  Tensor forward(const Tensor& input) override;
};

class Hardtanh final : public Module {
 public:
  /// min_val must be below max_val (ValueError otherwise, as PyTorch's assertion).
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0);
  Tensor forward(const Tensor& input) override;
  /// "min_val=-1.0, max_val=1.0"
  std::string extra_repr() const override;

  const double min_val;
  const double max_val;
};

class LogSigmoid final : public Module {
 public:
  LogSigmoid() : Module("LogSigmoid") {}
  Tensor forward(const Tensor& input) override;
};

/// prelu with a learnable parameter "weight" [num_parameters], every element
/// `init`: 1 (one slope shared by all channels, the default) or the channel count
/// of its inputs (dim 1).
class PReLU final : public Module {
 public:
  explicit PReLU(std::int64_t num_parameters = 1, double init = 0.25);
  Tensor forward(const Tensor& input) override;
  /// "num_parameters=1"
  std::string extra_repr() const override;
  /// Sets every element of weight to init again.
  void reset_parameters();

  const std::int64_t num_parameters;
  const double init;
  Tensor weight;  ///< [num_parameters]
};

}  // namespace xgrad::nn
