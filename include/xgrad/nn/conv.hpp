#pragma once
/// \file nn/conv.hpp
/// Convolution layers, as torch.nn.Conv{1,2,3}d and ConvTranspose{1,2,3}d.
///
///   auto conv1 = std::make_shared<xgrad::nn::Conv2d>(3, 64, xgrad::Spatial{7},
///       xgrad::Conv2dOptions{.stride = {2}, .padding = {3}}, /*bias=*/false);
///   auto up = std::make_shared<xgrad::nn::ConvTranspose2d>(64, 32, xgrad::Spatial{4},
///       xgrad::ConvTranspose2dOptions{.stride = {2}, .padding = {1}});
///
/// One value of kernel_size, stride, padding or dilation applies to every
/// spatial dim. Inputs are [N, C, *spatial] or, unbatched, [C, *spatial]. Weights and biases
/// are initialised as torch's (init::default_init_), so state_dicts and seeded
/// models line up with PyTorch's layouts.

#include <cstddef>
#include <cstdint>
#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/ops/conv.hpp"

namespace xgrad::nn {

/// What Conv1d, Conv2d and Conv3d share.
class ConvNd : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  /// "3, 64, kernel_size=[7, 7], stride=[2, 2], padding=[3, 3], bias=false"
  /// (padding, dilation and groups only when not the default).
  std::string extra_repr() const override;
  /// output.numel() * (in_channels / groups) * prod(kernel_size).
  std::int64_t macs(const Tensor& input, const Tensor& output) const override;
  /// Draws new values with init::default_init_(weight, bias).
  void reset_parameters();

  const std::int64_t in_channels;
  const std::int64_t out_channels;
  const Spatial kernel_size;  ///< one value per spatial dim
  /// stride and dilation hold one value per spatial dim; padding likewise
  /// (begin and end) unless it is "same".
  const ConvOptions options;
  Tensor weight;  ///< [out_channels, in_channels / groups, *kernel_size]
  Tensor bias;    ///< [out_channels]; undefined without bias

 protected:
  using Function = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const ConvOptions&);
  /// Throws ValueError for channels that groups does not divide and for option
  /// values that do not fit `dims` spatial dims.
  ConvNd(const char* type_name, std::size_t dims, Function function, std::int64_t in_channels,
         std::int64_t out_channels, const Spatial& kernel_size, const ConvOptions& options, bool bias);

 private:
  Function function_;
};

class Conv1d final : public ConvNd {
 public:
  Conv1d(std::int64_t in_channels, std::int64_t out_channels, const Spatial& kernel_size,
         const Conv1dOptions& options = {}, bool bias = true);
};

class Conv2d final : public ConvNd {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, const Spatial& kernel_size,
         const Conv2dOptions& options = {}, bool bias = true);
};

class Conv3d final : public ConvNd {
 public:
  Conv3d(std::int64_t in_channels, std::int64_t out_channels, const Spatial& kernel_size,
         const Conv3dOptions& options = {}, bool bias = true);
};

/// What ConvTranspose1d, ConvTranspose2d and ConvTranspose3d share.
class ConvTransposeNd : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  /// "64, 32, kernel_size=[4, 4], stride=[2, 2], padding=[1, 1]" (padding,
  /// output_padding, dilation and groups only when not the default).
  std::string extra_repr() const override;
  /// input.numel() * (out_channels / groups) * prod(kernel_size).
  std::int64_t macs(const Tensor& input, const Tensor& output) const override;
  /// Draws new values with init::default_init_(weight, bias) (fan_in is
  /// weight.size(1) * prod(kernel_size), as torch).
  void reset_parameters();

  const std::int64_t in_channels;
  const std::int64_t out_channels;
  const Spatial kernel_size;            ///< one value per spatial dim
  const ConvTransposeOptions options;   ///< every field but groups one value per spatial dim
  Tensor weight;  ///< [in_channels, out_channels / groups, *kernel_size]
  Tensor bias;    ///< [out_channels]; undefined without bias

 protected:
  using Function = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const ConvTransposeOptions&);
  ConvTransposeNd(const char* type_name, std::size_t dims, Function function, std::int64_t in_channels,
                  std::int64_t out_channels, const Spatial& kernel_size, const ConvTransposeOptions& options,
                  bool bias);

 private:
  Function function_;
};

class ConvTranspose1d final : public ConvTransposeNd {
 public:
  ConvTranspose1d(std::int64_t in_channels, std::int64_t out_channels, const Spatial& kernel_size,
                  const ConvTranspose1dOptions& options = {}, bool bias = true);
};

class ConvTranspose2d final : public ConvTransposeNd {
 public:
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, const Spatial& kernel_size,
                  const ConvTranspose2dOptions& options = {}, bool bias = true);
};

class ConvTranspose3d final : public ConvTransposeNd {
 public:
  ConvTranspose3d(std::int64_t in_channels, std::int64_t out_channels, const Spatial& kernel_size,
                  const ConvTranspose3dOptions& options = {}, bool bias = true);
};

}  // namespace xgrad::nn
