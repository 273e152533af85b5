#include "xgrad/models/vgg.hpp"

#include <vector>

#include "models/input_checks.hpp"
#include "util/check.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/conv.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/normalization.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::models {

namespace {

// Five 2x2/2 max pools: 32 is the least height that leaves a 1x1 map.
constexpr std::int64_t min_input_size = 32;

// The convolutions' output channels per stage; each stage ends in a max pool.
using Stages = std::vector<std::vector<std::int64_t>>;

// Configurations A, B, D and E of Simonyan and Zisserman's Table 1.
Stages stages_for(std::int64_t depth) {
  switch (depth) {
    case 11:
      return {{64}, {128}, {256, 256}, {512, 512}, {512, 512}};
    case 13:
      return {{64, 64}, {128, 128}, {256, 256}, {512, 512}, {512, 512}};
    case 16:
      return {{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
    case 19:
      return {{64, 64}, {128, 128}, {256, 256, 256, 256}, {512, 512, 512, 512}, {512, 512, 512, 512}};
    default:
      xgrad::detail::fail<ValueError>("VGG: depth must be 11, 13, 16 or 19, got {}", depth);
  }
}

std::shared_ptr<nn::Sequential> vgg_features(const Stages& stages, bool batch_norm, std::int64_t in_channels) {
  auto seq = std::make_shared<nn::Sequential>();
  std::int64_t channels = in_channels;
  for (const auto& stage : stages) {
    for (std::int64_t out : stage) {
      seq->push_back(std::make_shared<nn::Conv2d>(channels, out, Spatial{3}, Conv2dOptions{.padding = {1}}));
      if (batch_norm) seq->push_back(std::make_shared<nn::BatchNorm2d>(out));
      seq->push_back(std::make_shared<nn::ReLU>(/*inplace=*/true));
      channels = out;
    }
    seq->push_back(std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {2}}));
  }
  return seq;
}

std::shared_ptr<nn::Sequential> vgg_classifier(std::int64_t num_classes) {
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(512 * 7 * 7, 4096), std::make_shared<nn::ReLU>(/*inplace=*/true), std::make_shared<nn::Dropout>(0.5),
      std::make_shared<nn::Linear>(4096, 4096), std::make_shared<nn::ReLU>(/*inplace=*/true), std::make_shared<nn::Dropout>(0.5),
      std::make_shared<nn::Linear>(4096, num_classes)});
}

// torchvision's VGG initialisation. (Batch norm layers are built with weight 1
// and bias 0 already.)
void init_weights(nn::Module& model) {
  for (auto& [name, module] : model.named_modules()) {
    if (auto conv = std::dynamic_pointer_cast<nn::Conv2d>(module)) {
      nn::init::kaiming_normal_(conv->weight, 0.0, "fan_out", "relu");
      nn::init::zeros_(conv->bias);
    } else if (auto linear = std::dynamic_pointer_cast<nn::Linear>(module)) {
      nn::init::normal_(linear->weight, 0.0, 0.01);
      nn::init::zeros_(linear->bias);
    }
  }
}

}  // namespace

VGG::VGG(std::int64_t depth, bool batch_norm, const ModelOptions& model_options)
    : Module("VGG"), options(model_options) {
  features = register_module("features", vgg_features(stages_for(depth), batch_norm, options.in_channels));
  avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(Spatial{7, 7}));
  classifier = register_module("classifier", vgg_classifier(options.num_classes));
  init_weights(*this);
}

Tensor VGG::forward(const Tensor& input) {
  detail::check_image_batch("VGG", input, options.in_channels, min_input_size);
  return (*classifier)(flatten((*avgpool)((*features)(input)), 1));
}

std::shared_ptr<VGG> vgg11(const ModelOptions& options) { return std::make_shared<VGG>(11, false, options); }
std::shared_ptr<VGG> vgg13(const ModelOptions& options) { return std::make_shared<VGG>(13, false, options); }
std::shared_ptr<VGG> vgg16(const ModelOptions& options) { return std::make_shared<VGG>(16, false, options); }
std::shared_ptr<VGG> vgg19(const ModelOptions& options) { return std::make_shared<VGG>(19, false, options); }
std::shared_ptr<VGG> vgg11_bn(const ModelOptions& options) { return std::make_shared<VGG>(11, true, options); }
std::shared_ptr<VGG> vgg13_bn(const ModelOptions& options) { return std::make_shared<VGG>(13, true, options); }
std::shared_ptr<VGG> vgg16_bn(const ModelOptions& options) { return std::make_shared<VGG>(16, true, options); }
std::shared_ptr<VGG> vgg19_bn(const ModelOptions& options) { return std::make_shared<VGG>(19, true, options); }

}  // namespace xgrad::models
