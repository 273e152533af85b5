// LeNet-5 on Fashion-MNIST: the main example.
//
//   ./build/examples/train_lenet [--data DIR] [--epochs N] [--batch-size N] [--lr X]
//                                [--threads N] [--checkpoint FILE] [--resume] [--seed N]
//
// Trains on the 60,000 training images with SGD (momentum 0.9, weight decay
// 5e-4, cosine learning-rate schedule), evaluates on the 10,000 test images
// after every epoch, and saves a checkpoint (model, optimiser, scheduler, epoch,
// random state) after every epoch. --resume continues from that checkpoint and
// produces the same losses as a run that never stopped.

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <unistd.h>

#include <xgrad/xgrad.hpp>

using xgrad::Tensor;
namespace data = xgrad::data;

namespace {

struct Settings {
  std::string data_dir = data::FashionMNIST::default_root;
  std::int64_t epochs = 10;
  std::int64_t batch_size = 64;
  double lr = 0.05;
  int threads = 0;  // 0: xgrad's default
  std::string checkpoint = "lenet5_fashion_mnist.ckpt";
  bool resume = false;
  std::uint64_t seed = 0;
};

[[noreturn]] void usage(const char* program) {
  std::cerr << "usage: " << program
            << " [--data DIR] [--epochs N] [--batch-size N] [--lr X] [--threads N] [--checkpoint FILE]"
               " [--resume] [--seed N]\n";
  std::exit(2);
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--resume") {
      s.resume = true;
      continue;
    }
    if (i + 1 >= argc) usage(argv[0]);
    const std::string value = argv[++i];
    try {
      if (flag == "--data") s.data_dir = value;
      else if (flag == "--epochs") s.epochs = std::stoll(value);
      else if (flag == "--batch-size") s.batch_size = std::stoll(value);
      else if (flag == "--lr") s.lr = std::stod(value);
      else if (flag == "--threads") s.threads = std::stoi(value);
      else if (flag == "--checkpoint") s.checkpoint = value;
      else if (flag == "--seed") s.seed = std::stoull(value);
      else usage(argv[0]);
    } catch (const std::logic_error&) {
      usage(argv[0]);
    }
  }
  if (s.epochs < 1 || s.batch_size < 1 || s.lr <= 0) usage(argv[0]);
  return s;
}

// One line, redrawn in place: epoch, bar, loss, accuracy and throughput so far.
class ProgressBar {
 public:
  ProgressBar(std::int64_t epoch, std::int64_t epochs, std::int64_t total)
      : epoch_(epoch), epochs_(epochs), total_(total), interactive_(isatty(STDERR_FILENO) != 0) {}

  void update(std::int64_t done, double loss, double accuracy, double images_per_second) {
    if (!interactive_ && done != total_) return;  // in logs, only the finished bar
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / total_);
    std::fprintf(stderr, "\repoch %lld/%lld [%s%s] %lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s   ",
                 static_cast<long long>(epoch_), static_cast<long long>(epochs_), std::string(filled, '=').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), loss, 100 * accuracy, images_per_second);
    if (done == total_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  std::int64_t epoch_, epochs_, total_;
  bool interactive_;
};

std::int64_t correct_predictions(const Tensor& logits, const Tensor& labels) {
  const auto predicted = logits.argmax(1).to_vector<std::int64_t>();
  const auto truth = labels.to_vector<std::int64_t>();
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
  return correct;
}

double evaluate(xgrad::nn::Module& model, data::DataLoader& loader) {
  xgrad::NoGradGuard no_grad;
  model.eval();
  std::int64_t correct = 0, seen = 0;
  for (const data::Batch& batch : loader) {
    correct += correct_predictions(model(batch.inputs), batch.targets);
    seen += batch.targets.numel();
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(seen);
}

// The scheduler's state travels with the optimiser's, under a prefix.
constexpr const char* kSchedulerPrefix = "scheduler.";

void save(const std::string& path, xgrad::nn::Module& model, const xgrad::optim::Optimizer& optimizer,
          const xgrad::optim::LRScheduler& scheduler, std::int64_t epoch) {
  xgrad::Checkpoint checkpoint{model.state_dict(), optimizer.state_dict(), epoch,
                               xgrad::default_generator().state(), {}};
  for (auto& [name, tensor] : scheduler.state_dict()) checkpoint.optimizer.emplace_back(kSchedulerPrefix + name, tensor);
  xgrad::save_checkpoint(checkpoint, path);
}

std::int64_t restore(const std::string& path, xgrad::nn::Module& model, xgrad::optim::Optimizer& optimizer,
                     xgrad::optim::LRScheduler& scheduler) {
  const xgrad::Checkpoint checkpoint = xgrad::load_checkpoint(path);
  xgrad::nn::StateDict optimizer_state, scheduler_state;
  const std::string prefix = kSchedulerPrefix;
  for (const auto& [name, tensor] : checkpoint.optimizer) {
    if (name.rfind(prefix, 0) == 0) {
      scheduler_state.emplace_back(name.substr(prefix.size()), tensor);
    } else {
      optimizer_state.emplace_back(name, tensor);
    }
  }
  model.load_state_dict(checkpoint.model);
  optimizer.load_state_dict(optimizer_state);
  scheduler.load_state_dict(scheduler_state);
  xgrad::default_generator().set_state(checkpoint.rng_state);
  return checkpoint.epoch;
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  spdlog::set_pattern("[%H:%M:%S] %v");
  try {
    if (settings.threads > 0) xgrad::set_num_threads(settings.threads);
    xgrad::manual_seed(settings.seed);

    // Fashion-MNIST's training-set mean and standard deviation.
    const data::Transform normalize = data::transforms::Normalize({0.2860}, {0.3530});
    auto train_set = std::make_shared<data::FashionMNIST>(settings.data_dir, /*train=*/true);
    auto test_set = std::make_shared<data::FashionMNIST>(settings.data_dir, /*train=*/false);
    data::DataLoader train_loader(train_set, {.batch_size = settings.batch_size, .shuffle = true, .seed = settings.seed},
                                  normalize);
    data::DataLoader test_loader(test_set, {.batch_size = 1000}, normalize);

    auto model = xgrad::models::lenet5({.num_classes = 10, .in_channels = 1});
    xgrad::optim::SGD optimizer(model->parameters(),
                                {.lr = settings.lr, .momentum = 0.9, .weight_decay = 5e-4});
    xgrad::optim::CosineAnnealingLR scheduler(optimizer, settings.epochs);

    std::int64_t first_epoch = 0;
    if (settings.resume) {
      first_epoch = restore(settings.checkpoint, *model, optimizer, scheduler);
      spdlog::info("resumed from {} after epoch {}", settings.checkpoint, first_epoch);
    } else {
      std::cout << xgrad::nn::summary(*model, {1, 1, 28, 28}) << "\n";
    }
    spdlog::info("training LeNet-5 on {} images, testing on {}, {} threads", train_set->size(), test_set->size(),
                 xgrad::get_num_threads());

    for (std::int64_t epoch = first_epoch; epoch < settings.epochs; ++epoch) {
      train_loader.set_epoch(epoch);
      ProgressBar bar(epoch + 1, settings.epochs, train_set->size());
      const auto start = std::chrono::steady_clock::now();
      double loss_sum = 0;
      std::int64_t seen = 0, correct = 0;
      for (const data::Batch& batch : train_loader) {
        const Tensor logits = (*model)(batch.inputs);
        const Tensor loss = xgrad::cross_entropy(logits, batch.targets);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();

        const std::int64_t n = batch.targets.numel();
        loss_sum += loss.item() * static_cast<double>(n);
        correct += correct_predictions(logits, batch.targets);
        seen += n;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        bar.update(seen, loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen),
                   static_cast<double>(seen) / seconds);
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      scheduler.step();
      const double test_accuracy = evaluate(*model, test_loader);
      spdlog::info("epoch {}/{}: train loss {:.4f}, train accuracy {:.2f}%, test accuracy {:.2f}%, {:.1f} s, {:.0f} "
                   "images/s, lr {:.4g}",
                   epoch + 1, settings.epochs, loss_sum / static_cast<double>(seen),
                   100.0 * static_cast<double>(correct) / static_cast<double>(seen), 100 * test_accuracy, seconds,
                   static_cast<double>(seen) / seconds, optimizer.lr());
      save(settings.checkpoint, *model, optimizer, scheduler, epoch + 1);
    }
    spdlog::info("checkpoint: {}", std::filesystem::absolute(settings.checkpoint).string());
  } catch (const xgrad::Error& e) {
    std::cerr << "train_lenet: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
