// Where a network looks (the lecture notes' section 6): for each image, one PNG
// with four titled panels side by side: the input, CAM (Zhou et al. 2016) and Grad-CAM
// (Selvaraju et al. 2017) as heatmaps over it (red: most evidence for the class),
// and guided Grad-CAM (grey 0.5 = no effect, brighter/darker = raising the pixel
// raises/lowers the score). The maps are those of the predicted class.
//
// Fashion-MNIST (default): the ResNet-20 of train_resnet, from its checkpoint (or,
// without one, trained for --train-steps batches first), on the first test image
// of each of the first --images classes; file names carry the true and the
// predicted class.
//
//   ./build/examples/gradcam [--images N] [--layer NAME] [--scale N] [--out DIR]
//                            [--checkpoint FILE] [--train-steps N] [--data DIR] [--threads N]
//
// Any photo and any torchvision ResNet or VGG (the .pth torchvision downloads,
// or its state_dict as safetensors; 1000 ImageNet classes): resized to 224x224, top-5 classes printed,
// the maps of the top class (or --class K). Without --weights the network is
// randomly initialised: the maps mean nothing, but the pipeline runs.
//
//   ./build/examples/gradcam --image photo.jpg [--weights resnet50-11ad3fa6.pth] [--arch resnet50]
//                            [--class K] [--labels imagenet_classes.txt] [--layer NAME] [--out DIR] [--threads N]
//
// Grad-CAM's layer defaults to layer3 (ResNet-20), layer4 (ResNets) and the last
// Conv2d (VGG, e.g. features.28 of vgg16). VGG has no CAM (it needs global
// average pooling followed by one linear layer), so its pictures have 3 panels.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <xgrad/saliency.hpp>
#include <xgrad/xgrad.hpp>

#include "saliency_support.hpp"

using xgrad::Tensor;
namespace fs = std::filesystem;
namespace models = xgrad::models;
namespace nn = xgrad::nn;
namespace saliency = xgrad::saliency;
namespace transforms = xgrad::data::transforms;
using saliency_support::ModelSettings;

namespace {

using Factory = std::function<std::shared_ptr<nn::Module>()>;

/// The torchvision architectures photo mode offers, by --arch name.
const std::map<std::string, Factory>& imagenet_models() {
  static const std::map<std::string, Factory> factories = {
      {"resnet18", [] { return models::resnet18(); }}, {"resnet34", [] { return models::resnet34(); }},
      {"resnet50", [] { return models::resnet50(); }}, {"resnet101", [] { return models::resnet101(); }},
      {"resnet152", [] { return models::resnet152(); }}, {"vgg11", [] { return models::vgg11(); }},
      {"vgg13", [] { return models::vgg13(); }},       {"vgg16", [] { return models::vgg16(); }},
      {"vgg19", [] { return models::vgg19(); }},       {"vgg11_bn", [] { return models::vgg11_bn(); }},
      {"vgg13_bn", [] { return models::vgg13_bn(); }}, {"vgg16_bn", [] { return models::vgg16_bn(); }},
      {"vgg19_bn", [] { return models::vgg19_bn(); }},
  };
  return factories;
}

struct Settings {
  ModelSettings model;
  std::int64_t images = 6;
  std::string layer;  ///< "": the architecture's default
  std::int64_t scale = 4;
  fs::path out = "gradcam_out";
  int threads = 0;  ///< 0: xgrad's default
  // Photo mode
  fs::path image;
  std::string weights;
  std::string arch = "resnet18";
  std::int64_t class_index = -1;  ///< -1: the top class
  std::string labels;
};

Settings parse(int argc, char** argv) {
  Settings s;
  cli::App app{"Where a network looks: the input, CAM, Grad-CAM and guided Grad-CAM side by side, one PNG each."};
  app.add_option("--layer", s.layer,
                 "Grad-CAM's layer (default: layer3 of ResNet-20, layer4 of ResNets, VGG's last Conv2d)");
  app.add_option("--out", s.out, "folder for the PNGs");
  cli::add_threads(app, s.threads);

  CLI::App* fashion = app.add_option_group("Fashion-MNIST", "Without --image: train_resnet's ResNet-20 on test images");
  fashion->add_option("--images", s.images, "classes: the first test image of each")->check(CLI::Range(1, 10));
  fashion->add_option("--scale", s.scale, "pixel size of the panels")->check(cli::positive);
  saliency_support::add_model_options(*fashion, s.model);

  CLI::App* photo = app.add_option_group("Photo", "With --image: any photo through a torchvision ResNet or VGG");
  CLI::Option* image = photo->add_option("--image", s.image, "a PNG or JPEG, resized to 224x224");
  image->check(CLI::ExistingFile);
  photo->add_option("--weights", s.weights, "torchvision .pth or safetensors (default: none, random weights)")
      ->check(CLI::ExistingFile)
      ->needs(image);
  photo->add_option("--arch", s.arch, "architecture")->check(CLI::IsMember(imagenet_models()))->needs(image);
  photo->add_option("--class", s.class_index, "class whose maps are drawn (default: the top class)")
      ->check(CLI::Range(0, 999))
      ->default_str("")
      ->needs(image);
  photo->add_option("--labels", s.labels, "class names, one per line")->check(CLI::ExistingFile)->needs(image);
  fashion->excludes(image);

  cli::parse_or_exit(app, argc, argv);
  return s;
}

/// One row of titled panels [3, H', W'] for `class_index`: the picture [C, H, W] in
/// [0, 1] (the input before normalisation), CAM (if with_cam) and Grad-CAM over it,
/// and guided Grad-CAM; each scaled up `scale` times (nearest) to be seen.
Tensor panels(nn::Module& model, const std::string& layer, const Tensor& input, const Tensor& picture,
              std::int64_t class_index, bool with_cam, std::int64_t scale) {
  const xgrad::Shape rgb = {3, picture.size(1), picture.size(2)};
  std::vector<Tensor> row = {picture.expand(rgb)};
  std::vector<std::string> titles = {"input"};
  if (with_cam) {
    row.push_back(xgrad::overlay_heatmap(picture, saliency::cam(model, input, class_index)));
    titles.push_back("CAM");
  }
  row.push_back(xgrad::overlay_heatmap(picture, saliency::grad_cam(model, layer, input, class_index)));
  titles.push_back("Grad-CAM (" + layer + ")");
  row.push_back(saliency::gradient_image(saliency::guided_grad_cam(model, layer, input, class_index)).expand(rgb));
  titles.push_back("guided Grad-CAM");
  Tensor batch = xgrad::stack(row);  // [panels, 3, H, W]
  if (scale > 1) batch = xgrad::upsample_nearest2d(batch, {scale * rgb[1], scale * rgb[2]});
  const xgrad::GridOptions grid{.nrow = static_cast<std::int64_t>(row.size()), .pad_value = 1.0};
  return saliency_support::with_titles(xgrad::make_grid(batch, grid), titles, grid.padding);
}

/// Softmax probabilities [classes] of one input [1, C, H, W].
std::vector<double> probabilities(nn::Module& model, const Tensor& input) {
  xgrad::NoGradGuard no_grad;
  return xgrad::softmax(model(input), 1).to_vector<double>();
}

std::int64_t argmax(const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

// ---- Fashion-MNIST ------------------------------------------------------------------

void fashion_mnist(const Settings& settings) {
  const xgrad::data::FashionMNIST test_set(settings.model.data_dir, /*train=*/false);
  auto model = saliency_support::fashion_resnet20(settings.model);
  const std::string layer = settings.layer.empty() ? "layer3" : settings.layer;
  model->find(layer);  // a wrong name fails here, listing the valid ones
  const std::vector<std::int64_t> labels = test_set.labels().to_vector<std::int64_t>();
  const auto& classes = test_set.classes();
  fs::create_directories(settings.out);
  for (std::int64_t label = 0; label < settings.images; ++label) {
    const std::int64_t index = std::find(labels.begin(), labels.end(), label) - labels.begin();
    const Tensor picture = saliency_support::padded(test_set.get(index).input);  // [1, 32, 32]
    const Tensor input = saliency_support::normalized(picture).unsqueeze(0);
    const std::vector<double> p = probabilities(*model, input);
    const std::int64_t predicted = argmax(p);
    const Tensor row = panels(*model, layer, input, picture, predicted, /*with_cam=*/true, settings.scale);
    const std::string name = saliency_support::test_image_name(index) + "_true-" +
                             saliency_support::file_safe(classes[label]) + "_pred-" +
                             saliency_support::file_safe(classes[predicted]) + ".png";
    const std::string file = (settings.out / name).string();
    xgrad::write_png(row, file);
    std::cout << "test image " << std::setw(4) << index << ": true " << std::setw(11) << classes[label]
              << ", predicted " << std::setw(11) << classes[predicted] << " (" << std::fixed << std::setprecision(1)
              << 100 * p[predicted] << "%) -> " << file << "\n";
  }
}

// ---- any photo, torchvision ResNet / VGG ----------------------------------------------

/// The last Conv2d in named_modules() order (VGG's last 3x3 convolution).
std::string last_conv2d(nn::Module& model) {
  std::string last;
  for (const auto& [name, module] : model.named_modules())
    if (std::dynamic_pointer_cast<nn::Conv2d>(module)) last = name;
  return last;
}

/// Class names, one per line (e.g. torchvision's ImageNet categories); none without a file.
std::vector<std::string> read_labels(const std::string& path) {
  std::vector<std::string> names;
  if (path.empty()) return names;
  std::ifstream file(path);
  if (!file) throw xgrad::IOError("cannot read --labels file '" + path + "'");
  for (std::string line; std::getline(file, line);) names.push_back(line);
  return names;
}

void photo(const Settings& settings) {
  auto model = imagenet_models().at(settings.arch)();
  if (settings.weights.empty()) {
    std::cout << "warning: no --weights, so this " << settings.arch
              << " is randomly initialised: its classes and maps mean nothing (the pipeline still runs)\n";
  } else {
    xgrad::load(*model, settings.weights);
  }
  model->eval();
  const bool resnet = std::dynamic_pointer_cast<models::ResNet>(model) != nullptr;
  const std::string layer = !settings.layer.empty() ? settings.layer : resnet ? "layer4" : last_conv2d(*model);
  model->find(layer);
  const std::vector<std::string> names = read_labels(settings.labels);

  xgrad::Generator unused;
  const Tensor picture = transforms::Resize({224, 224})(xgrad::read_image(settings.image.string(), 3), unused);
  const Tensor input =
      transforms::Normalize({0.485, 0.456, 0.406}, {0.229, 0.224, 0.225})(picture, unused).unsqueeze(0);
  const std::vector<double> p = probabilities(*model, input);
  std::vector<std::int64_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                    [&](std::int64_t a, std::int64_t b) { return p[a] > p[b]; });
  std::cout << "top 5 of " << settings.image.string() << ":\n";
  for (int k = 0; k < 5; ++k) {
    const auto c = static_cast<std::size_t>(order[k]);
    std::cout << "  class " << std::setw(4) << c << "  " << std::fixed << std::setprecision(2) << std::setw(6)
              << 100 * p[c] << "%" << (c < names.size() ? "  " + names[c] : "") << "\n";
  }

  const std::int64_t class_index = settings.class_index >= 0 ? settings.class_index : order[0];
  const Tensor row = panels(*model, layer, input, picture, class_index, /*with_cam=*/resnet, /*scale=*/1);
  fs::create_directories(settings.out);
  const std::string file = (settings.out / (settings.image.stem().string() + "_" + settings.arch + "_class" +
                                            std::to_string(class_index) + ".png"))
                               .string();
  xgrad::write_png(row, file);
  std::cout << (resnet ? "input | CAM | Grad-CAM" : "input | Grad-CAM") << " (" << layer
            << ") | guided Grad-CAM of class " << class_index << " -> " << file << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  try {
    if (settings.threads > 0) xgrad::set_num_threads(settings.threads);
    if (settings.image.empty()) {
      fashion_mnist(settings);
    } else {
      photo(settings);
    }
  } catch (const std::exception& e) {  // xgrad::Error, and std::filesystem's errors
    std::cerr << "gradcam: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
