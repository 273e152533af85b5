// What the layers of a trained network compute (the lecture notes' "visualise the
// outputs of these layers"): the feature maps of chosen layers for one test image,
// one grey picture per map, each scaled to its own range (white: the map's largest
// value), plus the first convolution's filters.
//
//   ./build/examples/feature_maps [--index K] [--layers conv1,layer2] [--max-maps N] [--out DIR]
//                                 [--checkpoint FILE] [--train-steps N] [--data DIR] [--threads N]
//
// The network is the Fashion-MNIST ResNet-20 of train_resnet, from its checkpoint
// (or, without one, trained for --train-steps batches first). The activations are
// caught with forward hooks during one forward pass. Writes into --out (default
// feature_maps_out/): test<KKKK>_input.png, test<KKKK>_<layer>.png per layer
// and conv1_filters.png, each with a title above it.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "saliency_support.hpp"

using xgrad::Tensor;
namespace fs = std::filesystem;
namespace nn = xgrad::nn;
using saliency_support::ModelSettings;

namespace {

// Maps and filters are scaled up (nearest neighbour) to about this many pixels.
constexpr std::int64_t kMapPixels = 64;
constexpr std::int64_t kFilterPixels = 32;
constexpr std::int64_t kInputScale = 4;

struct Settings {
  ModelSettings model;
  std::int64_t index = 0;
  std::vector<std::string> layers = {"conv1", "layer2"};
  std::int64_t max_maps = 64;
  fs::path out = "feature_maps_out";
  int threads = 0;  ///< 0: xgrad's default
};

Settings parse(int argc, char** argv) {
  Settings s;
  cli::App app{"The feature maps of chosen layers of train_resnet's ResNet-20 for one test image, and its filters."};
  app.add_option("--index", s.index, "test image")->check(CLI::Range(0, 9999));
  app.add_option("--layers", s.layers, "layers, comma-separated (any names of named_modules())")->delimiter(',');
  app.add_option("--max-maps", s.max_maps, "maps shown per layer (the first ones)")->check(cli::positive);
  app.add_option("--out", s.out, "folder for the PNGs");
  saliency_support::add_model_options(app, s.model);
  cli::add_threads(app, s.threads);
  cli::parse_or_exit(app, argc, argv);
  return s;
}

/// The output of each named layer during one forward pass of `input` (the last
/// call's, for a module called more than once), caught with forward hooks. Throws
/// for a layer that does not run or whose output is not feature maps [1, C, h, w].
std::map<std::string, Tensor> activations(nn::Module& model, const std::vector<std::string>& layers,
                                          const Tensor& input) {
  std::map<std::string, Tensor> caught;
  std::vector<std::pair<std::shared_ptr<nn::Module>, int>> hooks;
  for (const std::string& name : layers) {
    auto module = model.find(name);  // a wrong name fails here, listing the valid ones
    hooks.emplace_back(
        module, module->register_forward_hook(
                    [&caught, name](nn::Module&, const Tensor&, const Tensor& output) { caught[name] = output; }));
  }
  {
    xgrad::NoGradGuard no_grad;
    model(input);
  }
  for (auto& [module, id] : hooks) module->remove_forward_hook(id);
  for (const std::string& name : layers) {
    const auto it = caught.find(name);
    if (it == caught.end()) throw xgrad::ValueError("layer " + name + " is not called by the forward pass");
    if (it->second.dim() != 4)
      throw xgrad::ShapeError("layer " + name + " outputs " + xgrad::shape_to_string(it->second.shape()) +
                              ", not feature maps [1, C, h, w]");
  }
  return caught;
}

/// The first Conv2d in named_modules() order, with its name.
std::pair<std::string, std::shared_ptr<nn::Conv2d>> first_conv2d(nn::Module& model) {
  for (const auto& [name, module] : model.named_modules())
    if (auto conv = std::dynamic_pointer_cast<nn::Conv2d>(module)) return {name, conv};
  throw xgrad::ValueError("the model has no Conv2d");
}

std::int64_t scale_for(std::int64_t size, std::int64_t pixels) { return std::max<std::int64_t>(1, pixels / size); }

/// `picture` with `title` above it, as `file`; prints what it is.
void write(const Tensor& picture, const std::string& title, const fs::path& file, const std::string& what) {
  xgrad::write_png(saliency_support::with_titles(picture, {title}), file.string());
  std::cout << what << " -> " << file.string() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  try {
    if (settings.threads > 0) xgrad::set_num_threads(settings.threads);
    const xgrad::data::FashionMNIST test_set(settings.model.data_dir, /*train=*/false);
    auto model = saliency_support::fashion_resnet20(settings.model);
    const xgrad::data::Example example = test_set.get(settings.index);
    const Tensor picture = saliency_support::padded(example.input);  // [1, 32, 32]
    const Tensor input = saliency_support::normalized(picture).unsqueeze(0);
    const std::map<std::string, Tensor> caught = activations(*model, settings.layers, input);

    fs::create_directories(settings.out);
    const std::string stem = saliency_support::test_image_name(settings.index);
    const std::vector<std::int64_t> input_size = {kInputScale * picture.size(1), kInputScale * picture.size(2)};
    const std::string& label = test_set.classes()[static_cast<std::size_t>(example.target.item<std::int64_t>())];
    write(xgrad::upsample_nearest2d(picture.unsqueeze(0), input_size).squeeze(0), label,
          settings.out / (stem + "_input.png"), "test image " + std::to_string(settings.index) + " (" + label + ")");
    for (const std::string& layer : settings.layers) {
      const Tensor& activation = caught.at(layer);
      const std::int64_t shown = std::min(activation.size(1), settings.max_maps);
      const std::string title = layer + " " + xgrad::shape_to_string(activation.shape());
      write(xgrad::feature_map_grid(activation, settings.max_maps, scale_for(activation.size(2), kMapPixels)), title,
            settings.out / (stem + "_" + layer + ".png"), title + ", " + std::to_string(shown) + " maps");
    }
    const auto [name, conv] = first_conv2d(*model);
    const Tensor filters = conv->weight.detach();  // [out, in, k, k]: one grey picture per (out, in)
    const std::string title = name + " filters " + xgrad::shape_to_string(filters.shape());
    write(xgrad::feature_map_grid(filters.reshape({-1, filters.size(2), filters.size(3)}), settings.max_maps,
                                  scale_for(filters.size(2), kFilterPixels)),
          title, settings.out / (name + "_filters.png"), title);
  } catch (const std::exception& e) {  // xgrad::Error, and std::filesystem's errors
    std::cerr << "feature_maps: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
