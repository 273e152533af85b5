// Whole training loops on tiny models: a network overfits a small real batch,
// and training resumed from a checkpoint repeats the uninterrupted run exactly.

#include <filesystem>

#include "support.hpp"

using namespace xgrad;

namespace {

// A small conv net; its parameters are drawn from the default generator.
std::shared_ptr<nn::Sequential> tiny_net() {
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(1, 4, Spatial{3}, ConvOptions{.padding = {1}}),
      std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(MaxPoolOptions{.kernel = {2}}), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Dropout>(0.2), std::make_shared<nn::Linear>(4 * 4 * 4, 3)});
}

std::shared_ptr<data::TensorDataset> synthetic_dataset() {
  manual_seed(123);
  Tensor images = randn({40, 1, 8, 8});
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 40; ++i) labels.push_back(i % 3);
  return std::make_shared<data::TensorDataset>(images, from_vector(labels));
}

struct Run {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::SGD> optimizer;
  std::unique_ptr<optim::StepLR> scheduler;
};

Run fresh_run() {
  manual_seed(7);
  Run run{tiny_net(), nullptr, nullptr};
  run.optimizer = std::make_unique<optim::SGD>(run.model->parameters(),
                                               optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  run.scheduler = std::make_unique<optim::StepLR>(*run.optimizer, 1, 0.7);
  return run;
}

// Trains epochs [first, last) and returns every batch loss. Shuffling, dropout
// and initialisation all draw from seeded generators.
std::vector<double> train(Run& run, data::DataLoader& loader, std::int64_t first, std::int64_t last) {
  std::vector<double> losses;
  for (std::int64_t epoch = first; epoch < last; ++epoch) {
    loader.set_epoch(epoch);
    for (const data::Batch& batch : loader) {
      Tensor loss = cross_entropy((*run.model)(batch.inputs), batch.targets);
      run.optimizer->zero_grad();
      loss.backward();
      run.optimizer->step();
      losses.push_back(loss.item());
    }
    run.scheduler->step();
  }
  return losses;
}

}  // namespace

TEST_CASE("training resumed from a checkpoint gives the losses of a run that never stopped", "[training][io]") {
  auto dataset = synthetic_dataset();
  const data::DataLoaderOptions options{.batch_size = 8, .shuffle = true, .seed = 5};

  Run straight = fresh_run();
  data::DataLoader loader_a(dataset, options);
  const std::vector<double> expected = train(straight, loader_a, 0, 4);

  Run first_half = fresh_run();
  data::DataLoader loader_b(dataset, options);
  std::vector<double> losses = train(first_half, loader_b, 0, 2);
  const std::string path = (std::filesystem::temp_directory_path() / "xgrad_resume_test.ckpt").string();
  Checkpoint saved{first_half.model->state_dict(), first_half.optimizer->state_dict(), 2,
                   default_generator().state(), {}};
  for (auto& [name, t] : first_half.scheduler->state_dict()) saved.optimizer.emplace_back("scheduler." + name, t);
  save_checkpoint(saved, path);

  // A new process would start from scratch: different weights and random state.
  manual_seed(999);
  Run resumed{tiny_net(), nullptr, nullptr};
  resumed.optimizer = std::make_unique<optim::SGD>(resumed.model->parameters(),
                                                   optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  resumed.scheduler = std::make_unique<optim::StepLR>(*resumed.optimizer, 1, 0.7);
  const Checkpoint loaded = load_checkpoint(path);
  nn::StateDict optimizer_state, scheduler_state;
  for (const auto& [name, t] : loaded.optimizer) {
    if (name.rfind("scheduler.", 0) == 0) {
      scheduler_state.emplace_back(name.substr(10), t);
    } else {
      optimizer_state.emplace_back(name, t);
    }
  }
  resumed.model->load_state_dict(loaded.model);
  resumed.optimizer->load_state_dict(optimizer_state);
  resumed.scheduler->load_state_dict(scheduler_state);
  default_generator().set_state(loaded.rng_state);
  data::DataLoader loader_c(dataset, options);
  const std::vector<double> rest = train(resumed, loader_c, loaded.epoch, 4);
  losses.insert(losses.end(), rest.begin(), rest.end());

  REQUIRE(losses.size() == expected.size());
  for (std::size_t i = 0; i < losses.size(); ++i) {
    INFO("batch " << i);
    CHECK(losses[i] == expected[i]);  // bit for bit
  }
  std::filesystem::remove(path);
}

TEST_CASE("LeNet-5 overfits 64 Fashion-MNIST images to 100% training accuracy", "[training][data]") {
  if (!std::filesystem::exists(std::string(data::FashionMNIST::default_root) + "/train-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed; skipped");
    return;
  }
  manual_seed(0);
  data::FashionMNIST train_set;
  const Tensor images = train_set.images().narrow(0, 0, 64);
  const Tensor labels = train_set.labels().narrow(0, 0, 64);
  auto model = models::lenet5({.num_classes = 10, .in_channels = 1});
  optim::Adam optimizer(model->parameters(), {.lr = 3e-3});
  double accuracy = 0;
  int step = 0;
  for (; step < 200 && accuracy < 1.0; ++step) {
    Tensor logits = (*model)(images);
    Tensor loss = cross_entropy(logits, labels);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    const auto predicted = logits.argmax(1).to_vector<std::int64_t>();
    const auto truth = labels.to_vector<std::int64_t>();
    int correct = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
    accuracy = correct / 64.0;
  }
  INFO("steps: " << step);
  CHECK(accuracy == 1.0);
}
