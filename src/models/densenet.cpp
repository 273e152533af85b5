#include "xgrad/models/densenet.hpp"

#include <algorithm>
#include <string>

#include "models/input_checks.hpp"
#include "util/check.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/ops/pooling.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::models {

namespace {

// conv0 (7x7/2, padding 3) and pool0 (3x3/2, padding 1) leave ceil(H / 4); each
// transition halves that (rounding down), so H >= 4 * 2^transitions - 3 keeps
// a map after the last one (29 for the four blocks of torchvision's models).
std::int64_t min_input_size(const DenseNetConfig& config) {
  const auto transitions = static_cast<std::int64_t>(config.blocks.size()) - 1;
  return 4 * (std::int64_t{1} << transitions) - 3;
}

std::shared_ptr<nn::Conv2d> conv_no_bias(std::int64_t in, std::int64_t out, std::int64_t kernel,
                                         const Conv2dOptions& options = {}) {
  return std::make_shared<nn::Conv2d>(in, out, Spatial{kernel}, options, /*bias=*/false);
}

const DenseNetConfig& checked(const DenseNetConfig& config) {
  const bool positive_blocks = !config.blocks.empty() && std::all_of(config.blocks.begin(), config.blocks.end(),
                                                                     [](std::int64_t n) { return n > 0; });
  if (!positive_blocks || config.growth_rate < 1 || config.num_init_features < 1 || config.bn_size < 1)
    xgrad::detail::fail<ValueError>(
        "DenseNet: blocks must be a non-empty list of positive numbers and growth_rate, num_init_features and "
        "bn_size positive, got blocks {}, growth_rate {}, num_init_features {}, bn_size {}",
        xgrad::detail::str(config.blocks), config.growth_rate, config.num_init_features, config.bn_size);
  return config;
}

struct Features {
  std::shared_ptr<nn::Sequential> layers;
  std::int64_t channels;  ///< of the output
};

// conv0 norm0 relu0 pool0, then the blocks with transitions between them, then
// norm5 and relu5 (torchvision applies that relu in forward; as a module, the
// features' output is the final maps, which CAM reads).
Features densenet_features(const DenseNetConfig& config, std::int64_t in_channels) {
  auto seq = std::make_shared<nn::Sequential>();
  std::int64_t channels = config.num_init_features;
  seq->push_back("conv0", conv_no_bias(in_channels, channels, 7, {.stride = {2}, .padding = {3}}));
  seq->push_back("norm0", std::make_shared<nn::BatchNorm2d>(channels));
  seq->push_back("relu0", std::make_shared<nn::ReLU>(/*inplace=*/true));
  seq->push_back("pool0",
                 std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {3}, .stride = {2}, .padding = {1}}));
  for (std::size_t i = 0; i < config.blocks.size(); ++i) {
    const std::string number = std::to_string(i + 1);
    seq->push_back("denseblock" + number,
                   std::make_shared<DenseBlock>(config.blocks[i], channels, config.growth_rate, config.bn_size));
    channels += config.blocks[i] * config.growth_rate;
    if (i + 1 == config.blocks.size()) break;
    seq->push_back("transition" + number, std::make_shared<Transition>(channels, channels / 2));
    channels /= 2;
  }
  seq->push_back("norm5", std::make_shared<nn::BatchNorm2d>(channels));
  seq->push_back("relu5", std::make_shared<nn::ReLU>(/*inplace=*/true));
  return {seq, channels};
}

// torchvision's DenseNet initialisation. (Batch norm layers are built with
// weight 1 and bias 0 already.)
void init_weights(nn::Module& model) {
  for (auto& [name, module] : model.named_modules()) {
    if (auto convolution = std::dynamic_pointer_cast<nn::Conv2d>(module)) {
      nn::init::kaiming_normal_(convolution->weight);
    } else if (auto linear = std::dynamic_pointer_cast<nn::Linear>(module)) {
      nn::init::zeros_(linear->bias);
    }
  }
}

}  // namespace

// ---- parts ----------------------------------------------------------------------------

DenseLayer::DenseLayer(std::int64_t in_channels, std::int64_t growth_rate, std::int64_t bn_size)
    : Module("DenseLayer") {
  const std::int64_t width = bn_size * growth_rate;
  norm1 = register_module("norm1", std::make_shared<nn::BatchNorm2d>(in_channels));
  relu1 = register_module("relu1", std::make_shared<nn::ReLU>(/*inplace=*/true));
  conv1 = register_module("conv1", conv_no_bias(in_channels, width, 1));
  norm2 = register_module("norm2", std::make_shared<nn::BatchNorm2d>(width));
  relu2 = register_module("relu2", std::make_shared<nn::ReLU>(/*inplace=*/true));
  conv2 = register_module("conv2", conv_no_bias(width, growth_rate, 3, {.padding = {1}}));
}

Tensor DenseLayer::forward(const Tensor& input) {
  const Tensor bottleneck = (*conv1)((*relu1)((*norm1)(input)));
  return (*conv2)((*relu2)((*norm2)(bottleneck)));
}

DenseBlock::DenseBlock(std::int64_t num_layers, std::int64_t in_channels, std::int64_t growth_rate,
                       std::int64_t bn_size)
    : Module("DenseBlock") {
  for (std::int64_t i = 0; i < num_layers; ++i)
    layers.push_back(
        register_module("denselayer" + std::to_string(i + 1),
                        std::make_shared<DenseLayer>(in_channels + i * growth_rate, growth_rate, bn_size)));
}

Tensor DenseBlock::forward(const Tensor& input) {
  std::vector<Tensor> maps{input};
  for (const auto& layer : layers) maps.push_back((*layer)(maps.size() == 1 ? input : cat(maps, 1)));
  return cat(maps, 1);
}

Transition::Transition(std::int64_t in_channels, std::int64_t out_channels) : Module("Transition") {
  norm = register_module("norm", std::make_shared<nn::BatchNorm2d>(in_channels));
  relu = register_module("relu", std::make_shared<nn::ReLU>(/*inplace=*/true));
  conv = register_module("conv", conv_no_bias(in_channels, out_channels, 1));
  pool = register_module("pool", std::make_shared<nn::AvgPool2d>(AvgPool2dOptions{.kernel = {2}}));
}

Tensor Transition::forward(const Tensor& input) { return (*pool)((*conv)((*relu)((*norm)(input)))); }

// ---- the network -----------------------------------------------------------------------

DenseNet::DenseNet(const DenseNetConfig& densenet_config, const ModelOptions& model_options)
    : Module("DenseNet"), config(checked(densenet_config)), options(model_options) {
  const Features built = densenet_features(config, options.in_channels);
  features = register_module("features", built.layers);
  classifier = register_module("classifier", std::make_shared<nn::Linear>(built.channels, options.num_classes));
  init_weights(*this);
}

Tensor DenseNet::forward(const Tensor& input) {
  detail::check_image_batch("DenseNet", input, options.in_channels, min_input_size(config));
  return (*classifier)(flatten(adaptive_avg_pool2d((*features)(input), {1, 1}), 1));
}

std::shared_ptr<DenseNet> densenet121(const ModelOptions& options) {
  return std::make_shared<DenseNet>(DenseNetConfig{.growth_rate = 32, .blocks = {6, 12, 24, 16}}, options);
}
std::shared_ptr<DenseNet> densenet161(const ModelOptions& options) {
  return std::make_shared<DenseNet>(
      DenseNetConfig{.growth_rate = 48, .blocks = {6, 12, 36, 24}, .num_init_features = 96}, options);
}
std::shared_ptr<DenseNet> densenet169(const ModelOptions& options) {
  return std::make_shared<DenseNet>(DenseNetConfig{.growth_rate = 32, .blocks = {6, 12, 32, 32}}, options);
}
std::shared_ptr<DenseNet> densenet201(const ModelOptions& options) {
  return std::make_shared<DenseNet>(DenseNetConfig{.growth_rate = 32, .blocks = {6, 12, 48, 32}}, options);
}

}  // namespace xgrad::models
