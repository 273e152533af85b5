#include "xgrad/models/resnet.hpp"

#include <algorithm>
#include <string>

#include "models/input_checks.hpp"
#include "util/check.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::models {

namespace {

using xgrad::detail::fail;

std::shared_ptr<nn::Conv2d> conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return std::make_shared<nn::Conv2d>(in, out, Spatial{3}, Conv2dOptions{.stride = {stride}, .padding = {1}},
                                      /*bias=*/false);
}

std::shared_ptr<nn::Conv2d> conv1x1(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return std::make_shared<nn::Conv2d>(in, out, Spatial{1}, Conv2dOptions{.stride = {stride}}, /*bias=*/false);
}

bool changes_shape(std::int64_t in, std::int64_t out, std::int64_t stride) { return stride != 1 || in != out; }

// torchvision's "downsample" (1x1 convolution + batch norm) where a projection
// shortcut must change the shape; null otherwise.
std::shared_ptr<nn::Sequential> projection(std::int64_t in, std::int64_t out, std::int64_t stride, Shortcut shortcut) {
  if (shortcut != Shortcut::projection || !changes_shape(in, out, stride)) return nullptr;
  return std::make_shared<nn::Sequential>(
      std::vector<std::shared_ptr<nn::Module>>{conv1x1(in, out, stride), std::make_shared<nn::BatchNorm2d>(out)});
}

// How many zero channels a zero-padding shortcut appends (0 for a projection).
std::int64_t added_channels(const char* block, std::int64_t in, std::int64_t out, Shortcut shortcut) {
  if (shortcut != Shortcut::zero_padding) return 0;
  if (out < in)
    fail<ValueError>("{}: a zero-padding shortcut cannot reduce the channels (in_channels {}, output channels {})",
                     block, in, out);
  return out - in;
}

// The block's input as seen by its output: the projection when there is one,
// otherwise every stride-th pixel with `added` zero channels appended (the
// identity when stride is 1 and nothing is added).
Tensor shortcut_of(const Tensor& input, const std::shared_ptr<nn::Sequential>& downsample, std::int64_t stride,
                   std::int64_t added) {
  if (downsample) return (*downsample)(input);
  Tensor x = input;
  if (stride != 1) x = slice(slice(x, 2, 0, x.size(2), stride), 3, 0, x.size(3), stride);
  // pad's amounts run from the last dim: (left, right), (top, bottom), (channels before, after).
  if (added != 0) x = pad(x, {0, 0, 0, 0, 0, added});
  return x;
}

std::int64_t expansion_of(ResidualBlock block) {
  return block == ResidualBlock::basic ? BasicBlock::expansion : Bottleneck::expansion;
}

std::shared_ptr<nn::Module> make_block(ResidualBlock block, std::int64_t in, std::int64_t planes, std::int64_t stride,
                                       Shortcut shortcut) {
  if (block == ResidualBlock::basic) return std::make_shared<BasicBlock>(in, planes, stride, shortcut);
  return std::make_shared<Bottleneck>(in, planes, stride, shortcut);
}

// One stage: `count` blocks, the first with the stage's stride and the change of channels.
std::shared_ptr<nn::Sequential> make_stage(const ResNetConfig& config, std::int64_t in, std::int64_t planes,
                                           std::int64_t count, std::int64_t stride) {
  auto stage = std::make_shared<nn::Sequential>();
  const std::int64_t out = planes * expansion_of(config.block);
  for (std::int64_t b = 0; b < count; ++b)
    stage->push_back(make_block(config.block, b == 0 ? in : out, planes, b == 0 ? stride : 1, config.shortcut));
  return stage;
}

const ResNetConfig& checked(const ResNetConfig& config) {
  const auto positive = [](const std::vector<std::int64_t>& v) {
    return !v.empty() && std::all_of(v.begin(), v.end(), [](std::int64_t n) { return n > 0; });
  };
  if (!positive(config.blocks) || !positive(config.planes) || config.blocks.size() != config.planes.size())
    fail<ValueError>(
        "ResNet: blocks and planes must be non-empty lists of positive numbers of one length, got "
        "blocks {} and planes {}",
        xgrad::detail::str(config.blocks), xgrad::detail::str(config.planes));
  return config;
}

// torchvision's ResNet initialisation. (Batch norm layers are built with
// weight 1 and bias 0 already; fc keeps Linear's default.)
void init_weights(nn::Module& model, bool zero_init_residual) {
  for (auto& [name, module] : model.named_modules()) {
    if (auto conv = std::dynamic_pointer_cast<nn::Conv2d>(module)) {
      nn::init::kaiming_normal_(conv->weight, 0.0, "fan_out", "relu");
    } else if (zero_init_residual) {
      if (auto basic = std::dynamic_pointer_cast<BasicBlock>(module)) nn::init::zeros_(basic->bn2->weight);
      if (auto bottleneck = std::dynamic_pointer_cast<Bottleneck>(module)) nn::init::zeros_(bottleneck->bn3->weight);
    }
  }
}

}  // namespace

// ---- blocks --------------------------------------------------------------------------

BasicBlock::BasicBlock(std::int64_t in_channels, std::int64_t planes, std::int64_t stride, Shortcut shortcut)
    : Module("BasicBlock"),
      stride_(stride),
      added_channels_(added_channels("BasicBlock", in_channels, planes * expansion, shortcut)) {
  conv1 = register_module("conv1", conv3x3(in_channels, planes, stride));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
  relu = register_module("relu", std::make_shared<nn::ReLU>(/*inplace=*/true));
  conv2 = register_module("conv2", conv3x3(planes, planes, 1));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
  downsample = projection(in_channels, planes * expansion, stride, shortcut);
  if (downsample) register_module("downsample", downsample);
}

Tensor BasicBlock::forward(const Tensor& input) {
  Tensor out = (*relu)((*bn1)((*conv1)(input)));
  out = (*bn2)((*conv2)(out));
  return (*relu)(out + shortcut_of(input, downsample, stride_, added_channels_));
}

Bottleneck::Bottleneck(std::int64_t in_channels, std::int64_t planes, std::int64_t stride, Shortcut shortcut)
    : Module("Bottleneck"),
      stride_(stride),
      added_channels_(added_channels("Bottleneck", in_channels, planes * expansion, shortcut)) {
  conv1 = register_module("conv1", conv1x1(in_channels, planes, 1));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, stride));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
  conv3 = register_module("conv3", conv1x1(planes, planes * expansion, 1));
  bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(planes * expansion));
  relu = register_module("relu", std::make_shared<nn::ReLU>(/*inplace=*/true));
  downsample = projection(in_channels, planes * expansion, stride, shortcut);
  if (downsample) register_module("downsample", downsample);
}

Tensor Bottleneck::forward(const Tensor& input) {
  Tensor out = (*relu)((*bn1)((*conv1)(input)));
  out = (*relu)((*bn2)((*conv2)(out)));
  out = (*bn3)((*conv3)(out));
  return (*relu)(out + shortcut_of(input, downsample, stride_, added_channels_));
}

// ---- the network -----------------------------------------------------------------------

ResNet::ResNet(const ResNetConfig& resnet_config, const ModelOptions& model_options)
    : Module("ResNet"), config(checked(resnet_config)), options(model_options) {
  const std::int64_t stem_channels = config.planes.front();
  if (config.stem == Stem::imagenet) {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(options.in_channels, stem_channels, Spatial{7},
                                                                  Conv2dOptions{.stride = {2}, .padding = {3}},
                                                                  /*bias=*/false));
  } else {
    conv1 = register_module("conv1", conv3x3(options.in_channels, stem_channels, 1));
  }
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(stem_channels));
  relu = register_module("relu", std::make_shared<nn::ReLU>(/*inplace=*/true));
  if (config.stem == Stem::imagenet)
    maxpool = register_module(
        "maxpool", std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {3}, .stride = {2}, .padding = {1}}));

  std::int64_t channels = stem_channels;
  for (std::size_t i = 0; i < config.blocks.size(); ++i) {
    const std::int64_t stride = i == 0 ? 1 : 2;
    layers.push_back(register_module("layer" + std::to_string(i + 1),
                                     make_stage(config, channels, config.planes[i], config.blocks[i], stride)));
    channels = config.planes[i] * expansion_of(config.block);
  }
  avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(Spatial{1, 1}));
  fc = register_module("fc", std::make_shared<nn::Linear>(channels, options.num_classes));
  init_weights(*this, config.zero_init_residual);
}

Tensor ResNet::forward(const Tensor& input) {
  detail::check_image_batch("ResNet", input, options.in_channels);
  Tensor x = (*relu)((*bn1)((*conv1)(input)));
  if (maxpool) x = (*maxpool)(x);
  for (const auto& layer : layers) x = (*layer)(x);
  return (*fc)(flatten((*avgpool)(x), 1));
}

// ---- factories ---------------------------------------------------------------------------

namespace {

std::shared_ptr<ResNet> imagenet_resnet(ResidualBlock block, std::vector<std::int64_t> blocks,
                                        const ModelOptions& options, bool zero_init_residual) {
  return std::make_shared<ResNet>(
      ResNetConfig{.block = block, .blocks = std::move(blocks), .zero_init_residual = zero_init_residual}, options);
}

// Depth 6n + 2: n BasicBlocks in each of three stages of 16, 32 and 64 planes.
std::shared_ptr<ResNet> cifar_resnet(std::int64_t depth, const CifarOptions& options, bool zero_init_residual) {
  const std::int64_t n = (depth - 2) / 6;
  return std::make_shared<ResNet>(ResNetConfig{.block = ResidualBlock::basic,
                                               .blocks = {n, n, n},
                                               .planes = {16, 32, 64},
                                               .stem = Stem::cifar,
                                               .shortcut = Shortcut::zero_padding,
                                               .zero_init_residual = zero_init_residual},
                                  ModelOptions{.num_classes = options.num_classes, .in_channels = options.in_channels});
}

}  // namespace

std::shared_ptr<ResNet> resnet18(const ModelOptions& options, bool zero_init_residual) {
  return imagenet_resnet(ResidualBlock::basic, {2, 2, 2, 2}, options, zero_init_residual);
}
std::shared_ptr<ResNet> resnet34(const ModelOptions& options, bool zero_init_residual) {
  return imagenet_resnet(ResidualBlock::basic, {3, 4, 6, 3}, options, zero_init_residual);
}
std::shared_ptr<ResNet> resnet50(const ModelOptions& options, bool zero_init_residual) {
  return imagenet_resnet(ResidualBlock::bottleneck, {3, 4, 6, 3}, options, zero_init_residual);
}
std::shared_ptr<ResNet> resnet101(const ModelOptions& options, bool zero_init_residual) {
  return imagenet_resnet(ResidualBlock::bottleneck, {3, 4, 23, 3}, options, zero_init_residual);
}
std::shared_ptr<ResNet> resnet152(const ModelOptions& options, bool zero_init_residual) {
  return imagenet_resnet(ResidualBlock::bottleneck, {3, 8, 36, 3}, options, zero_init_residual);
}

std::shared_ptr<ResNet> resnet20(const CifarOptions& options, bool zero_init_residual) {
  return cifar_resnet(20, options, zero_init_residual);
}
std::shared_ptr<ResNet> resnet32(const CifarOptions& options, bool zero_init_residual) {
  return cifar_resnet(32, options, zero_init_residual);
}
std::shared_ptr<ResNet> resnet44(const CifarOptions& options, bool zero_init_residual) {
  return cifar_resnet(44, options, zero_init_residual);
}
std::shared_ptr<ResNet> resnet56(const CifarOptions& options, bool zero_init_residual) {
  return cifar_resnet(56, options, zero_init_residual);
}
std::shared_ptr<ResNet> resnet110(const CifarOptions& options, bool zero_init_residual) {
  return cifar_resnet(110, options, zero_init_residual);
}

}  // namespace xgrad::models
