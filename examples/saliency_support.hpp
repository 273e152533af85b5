#pragma once
// Shared by the gradcam and feature_maps examples: the Fashion-MNIST ResNet-20 of
// train_resnet (loaded from its checkpoint, or trained briefly when there is none),
// its test images, the command-line options that choose them, and titles above
// the pictures.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <xgrad/xgrad.hpp>

#include "bitmap_font.hpp"
#include "cli.hpp"

namespace saliency_support {

using xgrad::Tensor;
namespace data = xgrad::data;
namespace transforms = xgrad::data::transforms;

/// Where the trained network comes from.
struct ModelSettings {
  std::string checkpoint = "resnet20_fashion_mnist.ckpt";  ///< train_resnet's default
  std::int64_t train_steps = 300;                          ///< when the checkpoint is missing (batches of 64)
  std::string data_dir = data::FashionMNIST::default_root;
};

/// The options that fill ModelSettings, added to `app` (or an option group of it).
inline void add_model_options(CLI::App& app, ModelSettings& settings) {
  app.add_option("--checkpoint", settings.checkpoint, "train_resnet's checkpoint (missing: train briefly instead)");
  app.add_option("--train-steps", settings.train_steps, "batches of 64 to train for when there is no checkpoint")
      ->check(cli::positive);
  app.add_option("--data", settings.data_dir, "Fashion-MNIST folder")->check(CLI::ExistingDirectory);
}

/// Fashion-MNIST test images as train_resnet sees them: padded from 28x28 to
/// 32x32 (the CIFAR geometry), then normalised with the training set's mean and std.
inline Tensor padded(const Tensor& image) {
  xgrad::Generator unused;
  return transforms::Pad(2)(image, unused);
}
inline Tensor normalized(const Tensor& padded_image) {
  xgrad::Generator unused;
  return transforms::Normalize({0.2860}, {0.3530})(padded_image, unused);
}

/// A short run of train_resnet's recipe (SGD with momentum 0.9 and weight decay
/// 5e-4, lr 0.1 annealed to 0 by a cosine, random crops and flips): far from the
/// checkpoint's accuracy, but enough for maps that follow the garment.
inline void train_briefly(xgrad::nn::Module& model, const ModelSettings& settings) {
  auto train_set = std::make_shared<data::FashionMNIST>(settings.data_dir, /*train=*/true);
  const data::Transform augment =
      transforms::Compose({transforms::Pad(2), transforms::RandomCrop(32, 4), transforms::RandomHorizontalFlip(),
                           transforms::Normalize({0.2860}, {0.3530})});
  data::DataLoader loader(train_set, {.batch_size = 64, .shuffle = true}, augment);
  xgrad::optim::SGD optimizer(model.parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
  xgrad::optim::CosineAnnealingLR schedule(optimizer, settings.train_steps);
  model.train();
  std::int64_t step = 0;
  while (step < settings.train_steps) {
    for (const data::Batch& batch : loader) {
      const Tensor loss = xgrad::cross_entropy(model(batch.inputs), batch.targets);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      schedule.step();
      if (++step % 50 == 0 || step == settings.train_steps)
        std::cout << "  step " << step << "/" << settings.train_steps << "  loss " << loss.item() << std::endl;
      if (step == settings.train_steps) break;
    }
  }
}

/// train_resnet's network (resnet20, 1 input channel, 10 classes) in eval mode,
/// with the model part of its checkpoint, or trained for settings.train_steps
/// when the checkpoint does not exist.
inline std::shared_ptr<xgrad::models::ResNet> fashion_resnet20(const ModelSettings& settings) {
  xgrad::manual_seed(0);  // the same fresh network every run
  auto model = xgrad::models::resnet20({.num_classes = 10, .in_channels = 1});
  if (std::filesystem::exists(settings.checkpoint)) {
    model->load_state_dict(xgrad::load_checkpoint(settings.checkpoint).model);
    std::cout << "loaded " << settings.checkpoint << "\n";
  } else {
    std::cout << "no checkpoint " << settings.checkpoint
              << " (train_resnet writes one): training a fresh ResNet-20 for " << settings.train_steps
              << " steps instead\n";
    train_briefly(*model, settings);
  }
  model->eval();
  return model;
}

/// "test0042" for test image 42 (file names that sort in index order).
inline std::string test_image_name(std::int64_t index) {
  std::string digits = std::to_string(index);
  return "test" + std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0') + digits;
}

/// "T-shirt/top" -> "T-shirt_top", "Ankle boot" -> "Ankle_boot".
inline std::string file_safe(std::string name) {
  std::replace_if(name.begin(), name.end(), [](char c) { return c == '/' || c == ' '; }, '_');
  return name;
}

/// `picture` [3, H, W] or [1, H, W] (values in [0, 1]) under a white strip with one
/// title per column: the picture is `titles.size()` columns of equal width with
/// `padding` pixels between and around them (a make_grid row). The titles are dark
/// grey and centred, at the largest scale up to 3 at which each fits its column on
/// one line, else on two (broken at spaces), else at scale 1 on as many as it takes.
inline Tensor with_titles(const Tensor& picture, const std::vector<std::string>& titles, std::int64_t padding = 0) {
  namespace font = bitmap_font;
  if (titles.empty()) return picture;
  const auto width = static_cast<int>(picture.size(2));
  const auto pad = static_cast<int>(padding);
  const int column_width = (width - pad) / static_cast<int>(titles.size()) - pad;
  const int room = column_width - 4;  // 2 pixels clear on each side
  const auto fits = [&](int scale, std::size_t max_lines) {
    return std::all_of(titles.begin(), titles.end(), [&](const std::string& title) {
      const std::vector<std::string> lines = font::wrap(title, room, scale);
      return lines.size() <= max_lines && std::all_of(lines.begin(), lines.end(), [&](const std::string& line) {
               return font::text_width(line, scale) <= room;
             });
    });
  };
  const int scale = fits(3, 1) ? 3 : fits(2, 1) ? 2 : fits(3, 2) ? 3 : fits(2, 2) ? 2 : 1;
  std::vector<std::vector<std::string>> lines;
  std::size_t most_lines = 1;
  for (const std::string& title : titles) {
    lines.push_back(font::wrap(title, room, scale));
    for (std::string& line : lines.back())  // at scale 1, a word wider than its column is cut
      while (font::text_width(line, scale) > room) line.pop_back();
    most_lines = std::max(most_lines, lines.back().size());
  }

  const int line_height = font::kLineHeight * scale;
  const int height = pad + static_cast<int>(most_lines) * line_height + 2 * scale;
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(3 * width * height), 255);
  for (std::size_t column = 0; column < lines.size(); ++column) {
    const int left = pad + static_cast<int>(column) * (column_width + pad);
    const int top = pad + 2 * scale + static_cast<int>(most_lines - lines[column].size()) * line_height / 2;
    for (std::size_t i = 0; i < lines[column].size(); ++i)
      font::draw_text(rgb, width, height, left + (column_width - font::text_width(lines[column][i], scale)) / 2,
                      top + static_cast<int>(i) * line_height, lines[column][i], scale, {40, 40, 40});
  }
  const auto area = static_cast<std::size_t>(width * height);
  std::vector<float> planes(rgb.size());  // interleaved bytes -> [3, height, width] in [0, 1]
  for (std::size_t p = 0; p < area; ++p)
    for (std::size_t c = 0; c < 3; ++c) planes[c * area + p] = static_cast<float>(rgb[3 * p + c]) / 255.0f;
  const Tensor strip = xgrad::from_vector(planes, {3, height, width}).to(picture.dtype());
  return xgrad::cat({strip, picture.expand({3, picture.size(1), picture.size(2)})}, 1);
}

}  // namespace saliency_support
