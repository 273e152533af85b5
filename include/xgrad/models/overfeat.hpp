#pragma once
/// \file models/overfeat.hpp
/// OverFeat's "fast" model (Sermanet et al. 2013, "OverFeat: Integrated
/// Recognition, Localization and Detection using Convolutional Networks",
/// Table 1), for 231x231 input:
///
///   layer  stage      channels  filter  stride  pool (stride)  padding  output
///   1      conv+max   96        11x11   4       2x2 (2)        -        56 -> 28
///   2      conv+max   256       5x5     1       2x2 (2)        -        24 -> 12
///   3      conv       512       3x3     1       -              1        12
///   4      conv       1024      3x3     1       -              1        12
///   5      conv+max   1024      3x3     1       2x2 (2)        1        12 -> 6
///   6      full       3072                                              (from 1024 x 6 x 6)
///   7      full       4096
///   8      full       classes
///
/// Built like torchvision's AlexNet so the two read alike:
///
///   features    0 Conv2d(3, 96, 11, stride 4)         1 ReLU   2 MaxPool2d(2)
///               3 Conv2d(96, 256, 5)                  4 ReLU   5 MaxPool2d(2)
///               6 Conv2d(256, 512, 3, padding 1)      7 ReLU
///               8 Conv2d(512, 1024, 3, padding 1)     9 ReLU
///              10 Conv2d(1024, 1024, 3, padding 1)   11 ReLU  12 MaxPool2d(2)
///   avgpool     AdaptiveAvgPool2d(6x6)   (the identity at 231x231)
///   classifier  0 Linear(36864, 3072)  1 ReLU  2 Dropout(0.5)
///               3 Linear(3072, 4096)   4 ReLU  5 Dropout(0.5)  6 Linear(4096, classes)
///
/// ReLU after every layer but the last, no normalisation, dropout 0.5 on the
/// outputs of layers 6 and 7, weights drawn from N(0, 0.01^2) as in the paper
/// (biases zero). The paper evaluates layers 6-8 as convolutions sliding over
/// larger inputs; here they are Linear layers after the adaptive pooling, which
/// also lets inputs other than 231x231 through: the smallest is 71x71.
/// 145,920,872 parameters at 1000 classes (the paper's "145M").

#include <memory>

#include "xgrad/models/options.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/pooling.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xgrad::models {

class OverFeat final : public nn::Module {
 public:
  explicit OverFeat(const ModelOptions& options = {});
  /// [N, in_channels, H, W] (H, W >= 71) -> [N, num_classes]; a smaller or
  /// wrongly shaped input throws ShapeError.
  Tensor forward(const Tensor& input) override;

  const ModelOptions options;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Sequential> classifier;
};

std::shared_ptr<OverFeat> overfeat(const ModelOptions& options = {});

}  // namespace xgrad::models
