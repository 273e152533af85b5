// LeNet-5 on Fashion-MNIST: the main example.
//
//   ./build/examples/train_lenet [--data DIR] [--epochs N] [--batch-size N] [--lr X]
//                                [--threads N] [--checkpoint FILE] [--resume] [--seed N] [--limit N]
//                                [--distributed] [--steps N] [--loss-log FILE]
//   mpiexec -n 2 ./build/examples/train_lenet --distributed   # two processes, each half of every batch
//
// Trains on the 60,000 training images with SGD (momentum 0.9, weight decay
// 5e-4, cosine learning-rate schedule), evaluates on the 10,000 test images
// after every epoch, and saves a checkpoint (model, optimiser, scheduler, epoch,
// random state) after every epoch. --resume continues from that checkpoint and
// produces the same losses as a run that never stopped.

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <xgrad/xgrad.hpp>

#include "training_support.hpp"

using xgrad::Tensor;
namespace data = xgrad::data;
using namespace training_support;

int main(int argc, char** argv) {
  const Settings settings =
      parse(argc, argv, "LeNet-5 on Fashion-MNIST: SGD with momentum, a cosine schedule, a checkpoint every epoch.",
            {.epochs = 10, .batch_size = 64, .lr = 0.05, .checkpoint = "lenet5_fashion_mnist.ckpt"});
  spdlog::set_pattern("[%H:%M:%S] %v");
  try {
    start(settings);

    // Fashion-MNIST's training-set mean and standard deviation.
    const data::Transform normalize = data::transforms::Normalize({0.2860}, {0.3530});
    auto train_set = fashion_mnist(settings, /*train=*/true);
    auto test_set = fashion_mnist(settings, /*train=*/false);
    data::DataLoader train = train_loader(settings, train_set, normalize);
    data::DataLoader test = test_loader(settings, test_set, 1000, normalize);

    auto lenet = xgrad::models::lenet5({.num_classes = 10, .in_channels = 1});
    auto model = parallel(settings, lenet);
    xgrad::optim::SGD optimizer(model->parameters(),
                                {.lr = settings.lr, .momentum = 0.9, .weight_decay = 5e-4});
    xgrad::optim::CosineAnnealingLR scheduler(optimizer, settings.epochs);

    if (!settings.resume && is_main_process()) std::cout << xgrad::nn::summary(*lenet, {1, 1, 28, 28}) << "\n";
    fit("LeNet-5", *model, optimizer, scheduler, train, test, fit_options(settings));
  } catch (const xgrad::Error& e) {
    return fail("train_lenet", e);
  }
  return 0;
}
