#include "xgrad/models/lenet.hpp"

#include "util/check.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/conv.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/pooling.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::models {

namespace {

constexpr std::int64_t image_size = 28;

std::shared_ptr<nn::Sequential> lenet_features(std::int64_t in_channels) {
  auto features = std::make_shared<nn::Sequential>();
  // C1: padding 2 gives the 28x28 maps LeCun's C1 has on 32x32 input.
  features->push_back(std::make_shared<nn::Conv2d>(in_channels, 6, Spatial{5}, Conv2dOptions{.padding = {2}}));
  features->push_back(std::make_shared<nn::ReLU>(/*inplace=*/true));
  features->push_back(std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {2}}));  // S2: 14x14
  features->push_back(std::make_shared<nn::Conv2d>(6, 16, Spatial{5}));                   // C3: 10x10
  features->push_back(std::make_shared<nn::ReLU>(/*inplace=*/true));
  features->push_back(std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {2}}));  // S4: 5x5
  return features;
}

std::shared_ptr<nn::Sequential> lenet_classifier(std::int64_t num_classes) {
  auto classifier = std::make_shared<nn::Sequential>();
  classifier->push_back(std::make_shared<nn::Linear>(16 * 5 * 5, 120));  // C5
  classifier->push_back(std::make_shared<nn::ReLU>(/*inplace=*/true));
  classifier->push_back(std::make_shared<nn::Linear>(120, 84));  // F6
  classifier->push_back(std::make_shared<nn::ReLU>(/*inplace=*/true));
  classifier->push_back(std::make_shared<nn::Linear>(84, num_classes));
  return classifier;
}

}  // namespace

LeNet5::LeNet5(const LeNetOptions& model_options) : Module("LeNet5"), options(model_options) {
  features = register_module("features", lenet_features(options.in_channels));
  classifier = register_module("classifier", lenet_classifier(options.num_classes));
}

Tensor LeNet5::forward(const Tensor& input) {
  xgrad::detail::check_defined("LeNet5", input);
  const bool expected = input.dim() == 4 && input.size(1) == options.in_channels && input.size(2) == image_size &&
                        input.size(3) == image_size;
  if (!expected)
    xgrad::detail::fail<ShapeError>("LeNet5: expected input [N, {}, {}, {}], got {}", options.in_channels, image_size,
                                    image_size, xgrad::detail::str(input.shape()));
  return (*classifier)(flatten((*features)(input), 1));
}

std::shared_ptr<LeNet5> lenet5(const LeNetOptions& options) { return std::make_shared<LeNet5>(options); }

}  // namespace xgrad::models
