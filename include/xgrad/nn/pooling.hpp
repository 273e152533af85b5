#pragma once
/// \file nn/pooling.hpp
/// Pooling layers, as torch.nn.MaxPool{1,2,3}d, AvgPool{1,2,3}d,
/// AdaptiveAvgPool{1,2,3}d and AdaptiveMaxPool2d.
///
///   auto pool = std::make_shared<xgrad::nn::MaxPool2d>(xgrad::MaxPool2dOptions{.kernel = {3}, .stride = {2}});
///   auto gap = std::make_shared<xgrad::nn::AdaptiveAvgPool2d>(xgrad::Spatial{1, 1});
///
/// Inputs carry a batch dim ([N, C, *spatial]); a wrong rank throws ShapeError.

#include <cstddef>
#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/ops/pooling.hpp"

namespace xgrad::nn {

/// What MaxPool1d, MaxPool2d and MaxPool3d share.
class MaxPoolNd : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  /// "kernel_size=[3, 3], stride=[2, 2], padding=[0, 0], dilation=[1, 1], ceil_mode=false"
  std::string extra_repr() const override;

  /// Every size one value per spatial dim (stride defaults to the kernel).
  const MaxPoolOptions options;

 protected:
  using Function = Tensor (*)(const Tensor&, const MaxPoolOptions&);
  MaxPoolNd(const char* type_name, std::size_t dims, Function function, const MaxPoolOptions& options);

 private:
  Function function_;
};

class MaxPool1d final : public MaxPoolNd {
 public:
  explicit MaxPool1d(const MaxPool1dOptions& options);
};
class MaxPool2d final : public MaxPoolNd {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& options);
};
class MaxPool3d final : public MaxPoolNd {
 public:
  explicit MaxPool3d(const MaxPool3dOptions& options);
};

/// What AvgPool1d, AvgPool2d and AvgPool3d share.
class AvgPoolNd : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  /// "kernel_size=[3, 3], stride=[2, 2], padding=[1, 1]", plus ceil_mode and
  /// count_include_pad when not the default.
  std::string extra_repr() const override;

  /// Every size one value per spatial dim (stride defaults to the kernel).
  const AvgPoolOptions options;

 protected:
  using Function = Tensor (*)(const Tensor&, const AvgPoolOptions&);
  AvgPoolNd(const char* type_name, std::size_t dims, Function function, const AvgPoolOptions& options);

 private:
  Function function_;
};

class AvgPool1d final : public AvgPoolNd {
 public:
  explicit AvgPool1d(const AvgPool1dOptions& options);
};
class AvgPool2d final : public AvgPoolNd {
 public:
  explicit AvgPool2d(const AvgPool2dOptions& options);
};
class AvgPool3d final : public AvgPoolNd {
 public:
  explicit AvgPool3d(const AvgPool3dOptions& options);
};

/// What the adaptive pooling layers share: a fixed output size whatever the input's.
class AdaptivePoolNd : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  /// "output_size=[1, 1]"
  std::string extra_repr() const override;

  const Spatial output_size;  ///< one value per spatial dim

 protected:
  using Function = Tensor (*)(const Tensor&, const Spatial&);
  AdaptivePoolNd(const char* type_name, std::size_t dims, Function function, const Spatial& output_size);

 private:
  Function function_;
};

class AdaptiveAvgPool1d final : public AdaptivePoolNd {
 public:
  explicit AdaptiveAvgPool1d(const Spatial& output_size);
};
class AdaptiveAvgPool2d final : public AdaptivePoolNd {
 public:
  explicit AdaptiveAvgPool2d(const Spatial& output_size);
};
class AdaptiveAvgPool3d final : public AdaptivePoolNd {
 public:
  explicit AdaptiveAvgPool3d(const Spatial& output_size);
};
class AdaptiveMaxPool2d final : public AdaptivePoolNd {
 public:
  explicit AdaptiveMaxPool2d(const Spatial& output_size);
};

}  // namespace xgrad::nn
