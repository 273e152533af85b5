#include "xgrad/models/overfeat.hpp"

#include "models/input_checks.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/conv.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::models {

namespace {

// conv1 (11x11/4), conv2 (5x5) and three 2x2/2 max pools: 71 is the least
// height that leaves the last pool a 2x2 map.
constexpr std::int64_t min_input_size = 71;

void add_conv_relu(nn::Sequential& seq, std::int64_t in, std::int64_t out, std::int64_t kernel,
                   const Conv2dOptions& options) {
  seq.push_back(std::make_shared<nn::Conv2d>(in, out, Spatial{kernel}, options));
  seq.push_back(std::make_shared<nn::ReLU>(/*inplace=*/true));
}

void add_max_pool(nn::Sequential& seq) {
  seq.push_back(std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {2}}));
}

// Layers 1-5 of the paper's Table 1.
std::shared_ptr<nn::Sequential> overfeat_features(std::int64_t in_channels) {
  auto seq = std::make_shared<nn::Sequential>();
  add_conv_relu(*seq, in_channels, 96, 11, {.stride = {4}});
  add_max_pool(*seq);
  add_conv_relu(*seq, 96, 256, 5, {});
  add_max_pool(*seq);
  add_conv_relu(*seq, 256, 512, 3, {.padding = {1}});
  add_conv_relu(*seq, 512, 1024, 3, {.padding = {1}});
  add_conv_relu(*seq, 1024, 1024, 3, {.padding = {1}});
  add_max_pool(*seq);
  return seq;
}

// Layers 6-8, with dropout on the outputs of 6 and 7.
std::shared_ptr<nn::Sequential> overfeat_classifier(std::int64_t num_classes) {
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(1024 * 6 * 6, 3072), std::make_shared<nn::ReLU>(/*inplace=*/true),
      std::make_shared<nn::Dropout>(0.5), std::make_shared<nn::Linear>(3072, 4096), std::make_shared<nn::ReLU>(/*inplace=*/true),
      std::make_shared<nn::Dropout>(0.5), std::make_shared<nn::Linear>(4096, num_classes)});
}

// The paper's initialisation: weights N(0, 0.01^2); biases zero (the paper
// does not say, zero is the usual choice with it).
void init_weights(nn::Module& model) {
  for (auto& [name, module] : model.named_modules()) {
    if (auto conv = std::dynamic_pointer_cast<nn::Conv2d>(module)) {
      nn::init::normal_(conv->weight, 0.0, 0.01);
      nn::init::zeros_(conv->bias);
    } else if (auto linear = std::dynamic_pointer_cast<nn::Linear>(module)) {
      nn::init::normal_(linear->weight, 0.0, 0.01);
      nn::init::zeros_(linear->bias);
    }
  }
}

}  // namespace

OverFeat::OverFeat(const ModelOptions& model_options) : Module("OverFeat"), options(model_options) {
  features = register_module("features", overfeat_features(options.in_channels));
  avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(Spatial{6, 6}));
  classifier = register_module("classifier", overfeat_classifier(options.num_classes));
  init_weights(*this);
}

Tensor OverFeat::forward(const Tensor& input) {
  detail::check_image_batch("OverFeat", input, options.in_channels, min_input_size);
  return (*classifier)(flatten((*avgpool)((*features)(input)), 1));
}

std::shared_ptr<OverFeat> overfeat(const ModelOptions& options) { return std::make_shared<OverFeat>(options); }

}  // namespace xgrad::models
