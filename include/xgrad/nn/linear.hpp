#pragma once
/// \file nn/linear.hpp
/// Fully connected layer, as torch.nn.Linear: y = x Wᵀ + b over the last dim.
///
///   auto fc = std::make_shared<xgrad::nn::Linear>(512, 10);
///   Tensor logits = (*fc)(features);   // [N, 512] -> [N, 10]

#include <cstdint>
#include <string>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

class Linear : public Module {
 public:
  /// Parameters "weight" [out_features, in_features] and, with bias, "bias"
  /// [out_features], initialised as torch's (see reset_parameters).
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);

  /// input [..., in_features] -> [..., out_features]
  Tensor forward(const Tensor& input) override;
  /// "in_features=512, out_features=10, bias=true"
  std::string extra_repr() const override;
  /// output.numel() * in_features.
  std::int64_t macs(const Tensor& input, const Tensor& output) const override;
  /// Draws new values: init::default_init_(weight, bias), i.e. both
  /// U(-1/sqrt(in_features), 1/sqrt(in_features)).
  void reset_parameters();

  const std::int64_t in_features;
  const std::int64_t out_features;
  Tensor weight;  ///< [out_features, in_features]
  Tensor bias;    ///< [out_features]; undefined without bias
};

}  // namespace xgrad::nn
