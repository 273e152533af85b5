#pragma once
/// \file models/options.hpp
/// What every model factory takes: the number of classes the classifier
/// outputs and the number of channels of the input images.
///
///   auto net = xgrad::models::resnet18({.num_classes = 10});            // RGB, 10 classes
///   auto lenet = xgrad::models::lenet5();                                // grey 28x28, 10 classes
///   auto cifar = xgrad::models::resnet20({.in_channels = 1});            // grey 32x32, 10 classes
///
/// The three structs differ only in their defaults (the data set each family
/// was made for), so a designated initialiser that sets one field keeps the
/// other field's default of that family.

#include <cstdint>

namespace xgrad::models {

/// ImageNet models (alexnet, overfeat, vgg*, resnet18..152, densenet*).
struct ModelOptions {
  std::int64_t num_classes = 1000;
  std::int64_t in_channels = 3;
};

/// LeNet-5 (MNIST, Fashion-MNIST: grey 28x28 images, 10 classes).
struct LeNetOptions {
  std::int64_t num_classes = 10;
  std::int64_t in_channels = 1;
};

/// The CIFAR ResNets resnet20..110 (CIFAR-10: RGB 32x32 images, 10 classes).
struct CifarOptions {
  std::int64_t num_classes = 10;
  std::int64_t in_channels = 3;
};

}  // namespace xgrad::models
