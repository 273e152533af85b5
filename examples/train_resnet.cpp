// A CIFAR ResNet-20 (He et al. 2016, section 4.2) on Fashion-MNIST padded to
// 32x32, with augmentation (random crop with 4 pixels of padding, horizontal
// flip).
//
//   ./build/examples/train_resnet [--data DIR] [--epochs N] [--batch-size N] [--lr X]
//                                 [--threads N] [--checkpoint FILE] [--resume] [--seed N] [--limit N]
//                                 [--distributed] [--steps N] [--loss-log FILE]
//   mpiexec -n 2 ./build/examples/train_resnet --distributed
//
// SGD (momentum 0.9, weight decay 5e-4) with a cosine schedule; test accuracy,
// time and images/s after every epoch; a checkpoint after every epoch.

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include <xgrad/xgrad.hpp>

#include "training_support.hpp"

using xgrad::Tensor;
namespace data = xgrad::data;
namespace transforms = xgrad::data::transforms;
using namespace training_support;

int main(int argc, char** argv) {
  const Settings settings =
      parse(argc, argv, "CIFAR ResNet-20 on Fashion-MNIST padded to 32x32, random crops and flips.",
            {.epochs = 20, .batch_size = 128, .lr = 0.1, .checkpoint = "resnet20_fashion_mnist.ckpt"});
  spdlog::set_pattern("[%H:%M:%S] %v");
  try {
    start(settings);

    // 28x28 padded to 32x32 (the CIFAR geometry the network was designed for),
    // then normalised with Fashion-MNIST's mean and standard deviation.
    const data::Transform normalize = transforms::Normalize({0.2860}, {0.3530});
    const data::Transform train_transform = transforms::Compose(
        {transforms::Pad(2), transforms::RandomCrop(32, 4), transforms::RandomHorizontalFlip(), normalize});
    const data::Transform test_transform = transforms::Compose({transforms::Pad(2), normalize});
    auto train_set = fashion_mnist(settings, /*train=*/true);
    auto test_set = fashion_mnist(settings, /*train=*/false);
    data::DataLoader train = train_loader(settings, train_set, train_transform);
    data::DataLoader test = test_loader(settings, test_set, 500, test_transform);

    auto resnet = xgrad::models::resnet20({.num_classes = 10, .in_channels = 1});
    auto model = parallel(settings, resnet);
    xgrad::optim::SGD optimizer(model->parameters(), {.lr = settings.lr, .momentum = 0.9, .weight_decay = 5e-4});
    xgrad::optim::CosineAnnealingLR scheduler(optimizer, settings.epochs);

    if (!settings.resume && is_main_process()) std::cout << xgrad::nn::summary(*resnet, {1, 1, 32, 32}) << "\n";
    fit("ResNet-20", *model, optimizer, scheduler, train, test, fit_options(settings));
  } catch (const xgrad::Error& e) {
    return fail("train_resnet", e);
  }
  return 0;
}
