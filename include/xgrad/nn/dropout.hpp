#pragma once
/// \file nn/dropout.hpp
/// Dropout, as torch.nn.Dropout: in training, zeroes each element with
/// probability p and scales the rest by 1 / (1 - p); in evaluation, the identity.
///
///   auto drop = std::make_shared<xgrad::nn::Dropout>(0.5);
///   net->eval();   // now (*drop)(x) is x itself

#include <string>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

class Dropout final : public Module {
 public:
  /// p outside [0, 1] throws ValueError. Masks are drawn from the default generator.
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& input) override;
  /// "p=0.5"
  std::string extra_repr() const override;

  const double p;
};

}  // namespace xgrad::nn
