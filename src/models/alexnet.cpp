#include "xgrad/models/alexnet.hpp"

#include "models/input_checks.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/conv.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::models {

namespace {

// conv1 (11x11/4, padding 2) and three 3x3/2 max pools: 63 is the least
// height that leaves the last pool a 3x3 map.
constexpr std::int64_t min_input_size = 63;

void add_conv_relu(nn::Sequential& seq, std::int64_t in, std::int64_t out, std::int64_t kernel,
                   const Conv2dOptions& options) {
  seq.push_back(std::make_shared<nn::Conv2d>(in, out, Spatial{kernel}, options));
  seq.push_back(std::make_shared<nn::ReLU>(/*inplace=*/true));
}

void add_max_pool(nn::Sequential& seq) {
  seq.push_back(std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {3}, .stride = {2}}));
}

std::shared_ptr<nn::Sequential> alexnet_features(std::int64_t in_channels) {
  auto seq = std::make_shared<nn::Sequential>();
  add_conv_relu(*seq, in_channels, 64, 11, {.stride = {4}, .padding = {2}});
  add_max_pool(*seq);
  add_conv_relu(*seq, 64, 192, 5, {.padding = {2}});
  add_max_pool(*seq);
  add_conv_relu(*seq, 192, 384, 3, {.padding = {1}});
  add_conv_relu(*seq, 384, 256, 3, {.padding = {1}});
  add_conv_relu(*seq, 256, 256, 3, {.padding = {1}});
  add_max_pool(*seq);
  return seq;
}

std::shared_ptr<nn::Sequential> alexnet_classifier(std::int64_t num_classes) {
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Dropout>(0.5), std::make_shared<nn::Linear>(256 * 6 * 6, 4096), std::make_shared<nn::ReLU>(/*inplace=*/true),
      std::make_shared<nn::Dropout>(0.5), std::make_shared<nn::Linear>(4096, 4096), std::make_shared<nn::ReLU>(/*inplace=*/true),
      std::make_shared<nn::Linear>(4096, num_classes)});
}

}  // namespace

AlexNet::AlexNet(const ModelOptions& model_options) : Module("AlexNet"), options(model_options) {
  features = register_module("features", alexnet_features(options.in_channels));
  avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(Spatial{6, 6}));
  classifier = register_module("classifier", alexnet_classifier(options.num_classes));
}

Tensor AlexNet::forward(const Tensor& input) {
  detail::check_image_batch("AlexNet", input, options.in_channels, min_input_size);
  return (*classifier)(flatten((*avgpool)((*features)(input)), 1));
}

std::shared_ptr<AlexNet> alexnet(const ModelOptions& options) { return std::make_shared<AlexNet>(options); }

}  // namespace xgrad::models
