#pragma once
/// \file models/vgg.hpp
/// VGG (Simonyan and Zisserman 2014), configurations A, B, D and E (11, 13, 16
/// and 19 weight layers), with or without batch normalisation, as torchvision
/// builds them: module names and parameters are torchvision's, so its weights
/// load one to one (`features.0.weight`, `classifier.0.weight`, ...).
///
///   auto net = xgrad::models::vgg16_bn({.num_classes = 10});
///
///   features    per configuration entry: Conv2d(in, c, 3, padding 1), [BatchNorm2d(c)], ReLU;
///               MaxPool2d(2) after each of the five stages
///   avgpool     AdaptiveAvgPool2d(7x7)
///   classifier  0 Linear(25088, 4096)  1 ReLU  2 Dropout(0.5)
///               3 Linear(4096, 4096)   4 ReLU  5 Dropout(0.5)  6 Linear(4096, classes)
///
/// Parameters at 1000 classes: vgg11 132,863,336; vgg13 133,047,848; vgg16
/// 138,357,544; vgg19 143,667,240; vgg11_bn 132,868,840; vgg13_bn 133,053,736;
/// vgg16_bn 138,365,992; vgg19_bn 143,678,248 (about 4 bytes each in f32).
/// Made for 224x224; the smallest input is 32x32 (five 2x2 max pools).
/// Initialisation as torchvision's: convolutions kaiming_normal_(fan_out, relu)
/// with zero bias, batch norm weight 1 and bias 0, linear layers N(0, 0.01^2)
/// with zero bias.

#include <cstdint>
#include <memory>

#include "xgrad/models/options.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/pooling.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xgrad::models {

class VGG final : public nn::Module {
 public:
  /// depth: 11, 13, 16 or 19 (anything else throws ValueError).
  VGG(std::int64_t depth, bool batch_norm, const ModelOptions& options = {});
  /// [N, in_channels, H, W] (H, W >= 32) -> [N, num_classes]; a smaller or
  /// wrongly shaped input throws ShapeError.
  Tensor forward(const Tensor& input) override;

  const ModelOptions options;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Sequential> classifier;
};

std::shared_ptr<VGG> vgg11(const ModelOptions& options = {});
std::shared_ptr<VGG> vgg13(const ModelOptions& options = {});
std::shared_ptr<VGG> vgg16(const ModelOptions& options = {});
std::shared_ptr<VGG> vgg19(const ModelOptions& options = {});
std::shared_ptr<VGG> vgg11_bn(const ModelOptions& options = {});
std::shared_ptr<VGG> vgg13_bn(const ModelOptions& options = {});
std::shared_ptr<VGG> vgg16_bn(const ModelOptions& options = {});
std::shared_ptr<VGG> vgg19_bn(const ModelOptions& options = {});

}  // namespace xgrad::models
