#pragma once
/// \file nn/upsample.hpp
/// Resizing layer, as torch.nn.Upsample: interpolate() with fixed options, any of
/// its modes and ranks.
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
  /// (one to three positive values), mode is one of interpolate's, align_corners
  /// is only set with linear, bilinear, bicubic or trilinear, and
  /// recompute_scale_factor is not true with a size. The input's rank (the mode's
  /// and the sizes') is checked at forward.
  explicit Upsample(const InterpolateOptions& options);
  /// [N, C, *spatial] -> [N, C, *spatial'] (3-D to 5-D)
  Tensor forward(const Tensor& input) override;
  /// "size=[14, 14], mode='bilinear'" or "scale_factor=[2], mode='nearest'"
  /// (", align_corners=true", ", recompute_scale_factor=true|false" when set).
  std::string extra_repr() const override;

  const InterpolateOptions options;
};

}  // namespace xgrad::nn
