#pragma once
/// \file models/densenet.hpp
/// DenseNet-BC (Huang et al. 2017, "Densely Connected Convolutional Networks")
/// as torchvision builds it. Module names and parameters are torchvision's, so
/// its weights load one to one (`features.conv0.weight`, `features.norm0.*`,
/// `features.denseblock1.denselayer1.norm1.weight`,
/// `features.transition1.conv.weight`, `classifier.weight`, ...):
///
///   features    conv0 Conv2d(3, init, 7, stride 2, padding 3, no bias)  norm0  relu0
///               pool0 MaxPool2d(3, stride 2, padding 1)
///               denseblock1 transition1 denseblock2 transition2 denseblock3 transition3 denseblock4
///               norm5 BatchNorm2d  relu5 ReLU
///   then global average pooling (functional, as torchvision) and
///   classifier  Linear(channels, classes)
///
/// relu5 has no parameters (the state_dict is torchvision's); torchvision applies
/// that relu functionally in forward, here it is a module so that `features`
/// outputs the final (post-ReLU) maps, for CAM and forward hooks.
///
/// A dense layer maps the concatenation of everything before it in its block
/// to growth_rate new channels (norm1 relu1 conv1 1x1 to bn_size * growth_rate,
/// norm2 relu2 conv2 3x3); a transition halves the channels (1x1 convolution)
/// and the map (2x2 average pooling).
///
///   model        growth  layers per block  init  parameters at 1000 classes
///   densenet121  32      6, 12, 24, 16     64     7,978,856
///   densenet161  48      6, 12, 36, 24     96    28,681,000
///   densenet169  32      6, 12, 32, 32     64    14,149,480
///   densenet201  32      6, 12, 48, 32     64    20,013,928
///
/// Made for 224x224; the smallest input is 29x29 (32x32 leaves a 1x1 map after
/// the last transition; with B blocks it is 4 * 2^(B - 1) - 3).
/// Initialisation as torchvision's: convolutions kaiming_normal_ (fan_in, gain
/// sqrt(2)), batch norm weight 1 and bias 0, classifier bias 0 (its weight
/// keeps Linear's default).

#include <cstdint>
#include <memory>
#include <vector>

#include "xgrad/models/options.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/conv.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/normalization.hpp"
#include "xgrad/nn/pooling.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xgrad::models {

/// Bottleneck layer: conv2(relu2(norm2(conv1(relu1(norm1(x)))))).
class DenseLayer final : public nn::Module {
 public:
  DenseLayer(std::int64_t in_channels, std::int64_t growth_rate, std::int64_t bn_size);
  /// [N, in_channels, H, W] -> [N, growth_rate, H, W]
  Tensor forward(const Tensor& input) override;

  std::shared_ptr<nn::BatchNorm2d> norm1;
  std::shared_ptr<nn::ReLU> relu1;
  std::shared_ptr<nn::Conv2d> conv1;  ///< 1x1, bn_size * growth_rate channels
  std::shared_ptr<nn::BatchNorm2d> norm2;
  std::shared_ptr<nn::ReLU> relu2;
  std::shared_ptr<nn::Conv2d> conv2;  ///< 3x3, growth_rate channels
};

/// Dense layers, each fed with the block's input and all earlier outputs.
class DenseBlock final : public nn::Module {
 public:
  DenseBlock(std::int64_t num_layers, std::int64_t in_channels, std::int64_t growth_rate, std::int64_t bn_size);
  /// [N, C, H, W] -> [N, C + num_layers * growth_rate, H, W]: the input and
  /// every layer's output, concatenated along the channels.
  Tensor forward(const Tensor& input) override;

  std::vector<std::shared_ptr<DenseLayer>> layers;  ///< registered as denselayer1, denselayer2, ...
};

/// Between two blocks: pool(conv(relu(norm(x)))), halving channels and map.
class Transition final : public nn::Module {
 public:
  Transition(std::int64_t in_channels, std::int64_t out_channels);
  Tensor forward(const Tensor& input) override;

  std::shared_ptr<nn::BatchNorm2d> norm;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::Conv2d> conv;     ///< 1x1
  std::shared_ptr<nn::AvgPool2d> pool;  ///< 2x2, stride 2
};

/// A DenseNet's shape. The defaults are densenet121's.
struct DenseNetConfig {
  std::int64_t growth_rate = 32;                       ///< k: channels each dense layer adds
  std::vector<std::int64_t> blocks = {6, 12, 24, 16};  ///< dense layers per block
  std::int64_t num_init_features = 64;                 ///< channels of conv0
  std::int64_t bn_size = 4;                            ///< bottleneck width = bn_size * growth_rate
};

class DenseNet final : public nn::Module {
 public:
  /// Throws ValueError for an empty blocks list or a non-positive entry.
  explicit DenseNet(const DenseNetConfig& config = {}, const ModelOptions& options = {});
  /// [N, in_channels, H, W] (H, W >= 29 for four blocks) -> [N, num_classes];
  /// a smaller or wrongly shaped input throws ShapeError.
  Tensor forward(const Tensor& input) override;

  const DenseNetConfig config;
  const ModelOptions options;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Linear> classifier;
};

std::shared_ptr<DenseNet> densenet121(const ModelOptions& options = {});
std::shared_ptr<DenseNet> densenet161(const ModelOptions& options = {});
std::shared_ptr<DenseNet> densenet169(const ModelOptions& options = {});
std::shared_ptr<DenseNet> densenet201(const ModelOptions& options = {});

}  // namespace xgrad::models
