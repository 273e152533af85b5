#pragma once
/// \file nn/basic.hpp
/// Layers that only move data: Identity and Flatten, as torch.nn's.
///
///   auto flatten = std::make_shared<xgrad::nn::Flatten>();   // [N, C, H, W] -> [N, C*H*W]

#include <cstdint>
#include <string>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

/// Returns its input (a placeholder, e.g. for a removed classifier head).
class Identity final : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& input) override;
};

/// Flattens dims start_dim..end_dim into one (negative dims count from the end).
class Flatten final : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1);
  Tensor forward(const Tensor& input) override;
  /// "start_dim=1, end_dim=-1"
  std::string extra_repr() const override;

  const std::int64_t start_dim;
  const std::int64_t end_dim;
};

}  // namespace xgrad::nn
