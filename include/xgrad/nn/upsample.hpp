#pragma once
/// \file nn/upsample.hpp
/// Resizing layer, as torch.nn.Upsample: interpolate() with fixed options.
///
///   auto up = std::make_shared<xgrad::nn::Upsample>(xgrad::InterpolateOptions{.scale_factor = {2}});
///   auto fit = std::make_shared<xgrad::nn::Upsample>(
///       xgrad::InterpolateOptions{.size = {224, 224}, .mode = "bilinear"});

#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/ops/upsample.hpp"

namespace xgrad::nn {

class Upsample final : public Module {
 public:
  /// Throws ValueError unless exactly one of size and scale_factor is given
  /// (positive values), mode is "nearest" or "bilinear", and align_corners is
  /// only set with "bilinear".
  explicit Upsample(const InterpolateOptions& options);
  /// [N, C, H, W] -> [N, C, H', W']
  Tensor forward(const Tensor& input) override;
  /// "size=[14, 14], mode='bilinear'" or "scale_factor=[2], mode='nearest'"
  /// (", align_corners=true" when set).
  std::string extra_repr() const override;

  const InterpolateOptions options;
};

}  // namespace xgrad::nn
