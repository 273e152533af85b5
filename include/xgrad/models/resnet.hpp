#pragma once
/// \file models/resnet.hpp
/// Residual networks (He et al. 2016, "Deep Residual Learning for Image
/// Recognition").
///
/// ImageNet models, as torchvision builds them (ResNet v1.5: the stride of a
/// bottleneck block is on its 3x3 convolution). Module names and parameters are
/// torchvision's, so its weights load one to one (`conv1.weight`,
/// `bn1.running_mean`, `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`,
/// `fc.weight`, ...):
///
///   conv1 Conv2d(3, 64, 7, stride 2, padding 3, no bias)  bn1  relu  maxpool MaxPool2d(3, stride 2, padding 1)
///   layer1..layer4  blocks of 64, 128, 256, 512 planes (stride 2 from layer2 on)
///   avgpool AdaptiveAvgPool2d(1x1)  fc Linear(512 * expansion, classes)
///
///   model      block       blocks per stage  parameters at 1000 classes
///   resnet18   BasicBlock  2, 2, 2, 2        11,689,512
///   resnet34   BasicBlock  3, 4, 6, 3        21,797,672
///   resnet50   Bottleneck  3, 4, 6, 3        25,557,032
///   resnet101  Bottleneck  3, 4, 23, 3       44,549,160
///   resnet152  Bottleneck  3, 8, 36, 3       60,192,808
///
/// Made for 224x224; any input size runs, since every stage keeps at least a
/// 1x1 map (32x32 leaves exactly 1x1 before the pooling; training needs more
/// than one value per channel in every batch norm, e.g. a batch of 2).
///
/// CIFAR models (section 4.2 of the paper): depth 6n + 2 = a 3x3 convolution of
/// 16 channels, three stages of n BasicBlocks with 16, 32 and 64 planes on
/// 32x32, 16x16 and 8x8 maps, global average pooling and the classifier. The
/// shortcuts are the paper's option A: where a stage halves the map and doubles
/// the channels, the shortcut takes every second pixel and pads the new
/// channels with zeros, so every shortcut is parameter-free. Names follow the
/// ImageNet models (conv1, bn1, layer1..layer3, fc; there is no maxpool).
///
///   model      n    parameters at 10 classes
///   resnet20   3    269,722   (the paper's "0.27M")
///   resnet32   5    464,154
///   resnet44   7    658,586
///   resnet56   9    853,018
///   resnet110  18   1,727,962
///
/// Initialisation as torchvision's, for both families: convolutions
/// kaiming_normal_(fan_out, relu), batch norm weight 1 and bias 0, fc keeps
/// Linear's default; with zero_init_residual the last batch norm of every block
/// (bn2 of a BasicBlock, bn3 of a Bottleneck) starts with weight 0, so every
/// block starts as the identity (Goyal et al. 2017).

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

/// How a block's shortcut follows a change of shape (stride > 1 or more output
/// channels than input channels); otherwise the shortcut is the identity.
enum class Shortcut {
  projection,    ///< 1x1 convolution with the block's stride + batch norm, named
                 ///< "downsample" (torchvision's; option B of He et al.)
  zero_padding,  ///< every stride-th pixel, new channels zero; no parameters (option A)
};

/// Two 3x3 convolutions: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
class BasicBlock final : public nn::Module {
 public:
  static constexpr std::int64_t expansion = 1;  ///< output channels = planes * expansion

  BasicBlock(std::int64_t in_channels, std::int64_t planes, std::int64_t stride = 1,
             Shortcut shortcut = Shortcut::projection);
  Tensor forward(const Tensor& input) override;

  std::shared_ptr<nn::Conv2d> conv1;  ///< 3x3, the block's stride
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::Conv2d> conv2;  ///< 3x3
  std::shared_ptr<nn::BatchNorm2d> bn2;
  /// Conv2d(1x1) + BatchNorm2d; null unless the shortcut is a projection.
  std::shared_ptr<nn::Sequential> downsample;

 private:
  const std::int64_t stride_;
  const std::int64_t added_channels_;  ///< zero channels a zero-padding shortcut appends
};

/// 1x1 reduce, 3x3 (with the stride), 1x1 expand to planes * 4 channels, plus
/// the shortcut.
class Bottleneck final : public nn::Module {
 public:
  static constexpr std::int64_t expansion = 4;  ///< output channels = planes * expansion

  Bottleneck(std::int64_t in_channels, std::int64_t planes, std::int64_t stride = 1,
             Shortcut shortcut = Shortcut::projection);
  Tensor forward(const Tensor& input) override;

  std::shared_ptr<nn::Conv2d> conv1;  ///< 1x1
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::Conv2d> conv2;  ///< 3x3, the block's stride
  std::shared_ptr<nn::BatchNorm2d> bn2;
  std::shared_ptr<nn::Conv2d> conv3;  ///< 1x1
  std::shared_ptr<nn::BatchNorm2d> bn3;
  std::shared_ptr<nn::ReLU> relu;
  /// Conv2d(1x1) + BatchNorm2d; null unless the shortcut is a projection.
  std::shared_ptr<nn::Sequential> downsample;

 private:
  const std::int64_t stride_;
  const std::int64_t added_channels_;
};

enum class ResidualBlock { basic, bottleneck };

/// The first layers, before the residual stages.
enum class Stem {
  imagenet,  ///< Conv2d(7x7, stride 2, padding 3) + bn1 + relu + MaxPool2d(3, stride 2, padding 1)
  cifar,     ///< Conv2d(3x3, padding 1) + bn1 + relu
};

/// A ResNet's shape. The defaults are resnet18's.
struct ResNetConfig {
  ResidualBlock block = ResidualBlock::basic;
  std::vector<std::int64_t> blocks = {2, 2, 2, 2};         ///< blocks per stage
  std::vector<std::int64_t> planes = {64, 128, 256, 512};  ///< planes per stage; the stem has planes[0] channels
  Stem stem = Stem::imagenet;
  Shortcut shortcut = Shortcut::projection;
  bool zero_init_residual = false;
};

class ResNet final : public nn::Module {
 public:
  /// Throws ValueError for an empty or mismatched blocks/planes pair or a
  /// non-positive entry.
  explicit ResNet(const ResNetConfig& config = {}, const ModelOptions& options = {});
  /// [N, in_channels, H, W] -> [N, num_classes]; a wrongly shaped input throws ShapeError.
  Tensor forward(const Tensor& input) override;

  const ResNetConfig config;
  const ModelOptions options;
  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::MaxPool2d> maxpool;               ///< null with the CIFAR stem
  std::vector<std::shared_ptr<nn::Sequential>> layers;  ///< registered as layer1, layer2, ...
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Linear> fc;
};

std::shared_ptr<ResNet> resnet18(const ModelOptions& options = {}, bool zero_init_residual = false);
std::shared_ptr<ResNet> resnet34(const ModelOptions& options = {}, bool zero_init_residual = false);
std::shared_ptr<ResNet> resnet50(const ModelOptions& options = {}, bool zero_init_residual = false);
std::shared_ptr<ResNet> resnet101(const ModelOptions& options = {}, bool zero_init_residual = false);
std::shared_ptr<ResNet> resnet152(const ModelOptions& options = {}, bool zero_init_residual = false);

std::shared_ptr<ResNet> resnet20(const CifarOptions& options = {}, bool zero_init_residual = false);
std::shared_ptr<ResNet> resnet32(const CifarOptions& options = {}, bool zero_init_residual = false);
std::shared_ptr<ResNet> resnet44(const CifarOptions& options = {}, bool zero_init_residual = false);
std::shared_ptr<ResNet> resnet56(const CifarOptions& options = {}, bool zero_init_residual = false);
std::shared_ptr<ResNet> resnet110(const CifarOptions& options = {}, bool zero_init_residual = false);

}  // namespace xgrad::models
