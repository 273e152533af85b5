#pragma once
// Shared by the backbone examples (alexnet, vgg, resnet, densenet): print the
// model's summary, then train it for a bounded number of steps on Fashion-MNIST
// resized to the input size the model needs, printing loss and images/s.
//
//   ./build/examples/<model> [--steps N] [--batch-size N] [--size PIXELS] [--threads N]

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <xgrad/xgrad.hpp>

#include "cli.hpp"

namespace backbone {

struct Settings {
  std::int64_t steps = 20;
  std::int64_t batch_size = 16;
  std::int64_t size = 0;  // input side in pixels
  int threads = 0;        // 0: xgrad's default
};

/// The command line (examples/cli.hpp: --help, or exit 2 on a mistake) of the example
/// for model `name`, whose default input side is `size`.
inline Settings parse(int argc, char** argv, const std::string& name, std::int64_t size) {
  Settings s{.size = size};
  cli::App app{name + " (torchvision's layout): its summary, then SGD steps on Fashion-MNIST resized to --size."};
  app.add_option("--steps", s.steps, "SGD steps to train")->check(cli::positive);
  app.add_option("--batch-size", s.batch_size, "images per step")->check(cli::positive);
  app.add_option("--size", s.size, "input side in pixels (224: the original)")->check(cli::positive);
  cli::add_threads(app, s.threads);
  cli::parse_or_exit(app, argc, argv);
  return s;
}

/// Trains `model` (1 input channel, 10 classes) for settings.steps SGD steps (learning
/// rate `lr`, momentum 0.9) on Fashion-MNIST images resized to settings.size x settings.size.
inline int run(const char* name, const std::shared_ptr<xgrad::nn::Module>& model, const Settings& settings,
               double lr) {
  namespace data = xgrad::data;
  const std::int64_t size = settings.size;
  try {
    if (settings.threads > 0) xgrad::set_num_threads(settings.threads);
    std::cout << name << " at " << size << "x" << size << "\n"
              << xgrad::nn::summary(*model, {1, 1, size, size}) << "\n";

    auto train_set = std::make_shared<data::FashionMNIST>();
    const data::Transform transform = data::transforms::Compose(
        {data::transforms::Resize({size, size}), data::transforms::Normalize({0.2860}, {0.3530})});
    data::DataLoader loader(train_set, {.batch_size = settings.batch_size, .shuffle = true, .drop_last = true},
                            transform);
    xgrad::optim::SGD optimizer(model->parameters(), {.lr = lr, .momentum = 0.9, .weight_decay = 5e-4});
    model->train();

    std::int64_t step = 0, images = 0;
    double seconds = 0;
    while (step < settings.steps) {
      for (const data::Batch& batch : loader) {
        const auto start = std::chrono::steady_clock::now();
        const xgrad::Tensor loss = xgrad::cross_entropy((*model)(batch.inputs), batch.targets);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ++step;
        if (step > 1) {  // the first step pays for first-touch allocations
          seconds += took;
          images += batch.targets.numel();
        }
        std::printf("step %3lld  loss %.4f  %.1f images/s\n", static_cast<long long>(step), loss.item(),
                    static_cast<double>(batch.targets.numel()) / took);
        if (step == settings.steps) break;
      }
    }
    if (images > 0)
      std::printf("%s: %.1f training images/s over steps 2-%lld (batch %lld, %d threads)\n", name,
                  static_cast<double>(images) / seconds, static_cast<long long>(settings.steps),
                  static_cast<long long>(settings.batch_size), xgrad::get_num_threads());
  } catch (const xgrad::Error& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace backbone
