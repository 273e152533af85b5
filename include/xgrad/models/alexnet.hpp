#pragma once
/// \file models/alexnet.hpp
/// AlexNet (Krizhevsky et al. 2012) as torchvision builds it: the single-GPU
/// variant of "One weird trick" (Krizhevsky 2014), 64-192-384-256-256 channels,
/// no local response normalisation, adaptive average pooling to 6x6 before the
/// classifier. Module names and parameters are torchvision's, so its weights
/// load one to one (`features.0.weight`, `classifier.1.weight`, ...).
///
///   auto net = xgrad::models::alexnet({.num_classes = 10});
///
///   features    0 Conv2d(3, 64, 11, stride 4, padding 2)  1 ReLU  2 MaxPool2d(3, stride 2)
///               3 Conv2d(64, 192, 5, padding 2)           4 ReLU  5 MaxPool2d(3, stride 2)
///               6 Conv2d(192, 384, 3, padding 1)          7 ReLU
///               8 Conv2d(384, 256, 3, padding 1)          9 ReLU
///              10 Conv2d(256, 256, 3, padding 1)         11 ReLU 12 MaxPool2d(3, stride 2)
///   avgpool     AdaptiveAvgPool2d(6x6)
///   classifier  0 Dropout(0.5)  1 Linear(9216, 4096)  2 ReLU  3 Dropout(0.5)
///               4 Linear(4096, 4096)  5 ReLU  6 Linear(4096, classes)
///
/// 61,100,840 parameters at 1000 classes. Made for 224x224; the smallest input
/// is 63x63 (the last max pool needs a 3x3 map). Layers keep their default
/// (torch) initialisation, as torchvision's.

#include <memory>

#include "xgrad/models/options.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/pooling.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xgrad::models {

class AlexNet final : public nn::Module {
 public:
  explicit AlexNet(const ModelOptions& options = {});
  /// [N, in_channels, H, W] (H, W >= 63) -> [N, num_classes]; a smaller or
  /// wrongly shaped input throws ShapeError.
  Tensor forward(const Tensor& input) override;

  const ModelOptions options;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Sequential> classifier;
};

std::shared_ptr<AlexNet> alexnet(const ModelOptions& options = {});

}  // namespace xgrad::models
