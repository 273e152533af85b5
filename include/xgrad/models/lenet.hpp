#pragma once
/// \file models/lenet.hpp
/// LeNet-5 (LeCun et al. 1998) as it is usually built today: ReLU and max
/// pooling where the original had scaled tanh and trainable subsampling, and
/// a padding of 2 on the first convolution so that a 28x28 MNIST image has the
/// 32x32 geometry of the paper (C1 28x28, S2 14x14, C3 10x10, S4 5x5).
///
///   auto net = xgrad::models::lenet5();                 // 1 channel, 10 classes
///   Tensor logits = net->forward(images);               // [N, 1, 28, 28] -> [N, 10]
///
///   features    0 Conv2d(1, 6, 5, padding 2)  1 ReLU  2 MaxPool2d(2)
///               3 Conv2d(6, 16, 5)            4 ReLU  5 MaxPool2d(2)
///   classifier  0 Linear(400, 120)  1 ReLU  2 Linear(120, 84)  3 ReLU  4 Linear(84, classes)
///
/// 61,706 parameters at 10 classes. Layers keep their default (torch)
/// initialisation.

#include <memory>

#include "xgrad/models/options.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xgrad::models {

class LeNet5 final : public nn::Module {
 public:
  explicit LeNet5(const LeNetOptions& options = {});
  /// [N, in_channels, 28, 28] -> [N, num_classes]; any other shape throws ShapeError.
  Tensor forward(const Tensor& input) override;

  const LeNetOptions options;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Sequential> classifier;
};

std::shared_ptr<LeNet5> lenet5(const LeNetOptions& options = {});

}  // namespace xgrad::models
