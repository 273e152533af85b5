#pragma once
// Shared by the gradcam and feature_maps examples: the Fashion-MNIST ResNet-20 of
// train_resnet (loaded from its checkpoint, or trained briefly when there is none),
// its test images, and the command-line flags that choose them.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <xgrad/xgrad.hpp>

namespace saliency_support {

using xgrad::Tensor;
namespace data = xgrad::data;
namespace transforms = xgrad::data::transforms;

/// Where the trained network comes from.
struct ModelSettings {
  std::string checkpoint = "resnet20_fashion_mnist.ckpt";  ///< train_resnet's default
  std::int64_t train_steps = 300;                          ///< when the checkpoint is missing (batches of 64)
  std::string data_dir = data::FashionMNIST::default_root;
  int threads = 0;  ///< 0: xgrad's default
};

inline const char* model_flags_usage() { return "[--checkpoint FILE] [--train-steps N] [--data DIR] [--threads N]"; }

/// Applies `flag value` when it is one of model_flags_usage(); false when it is not
/// (std::stoll/stoi throw std::logic_error on a bad number).
inline bool parse_model_flag(const std::string& flag, const std::string& value, ModelSettings& settings) {
  if (flag == "--checkpoint") settings.checkpoint = value;
  else if (flag == "--train-steps") settings.train_steps = std::stoll(value);
  else if (flag == "--data") settings.data_dir = value;
  else if (flag == "--threads") settings.threads = std::stoi(value);
  else return false;
  return true;
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

}  // namespace saliency_support
