#pragma once
// Shared by the training examples: the command line, a progress bar, accuracy, evaluation, and
// checkpoints holding model, optimiser, scheduler, epoch and random state.

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <utility>

#include <xgrad/xgrad.hpp>

#include "cli.hpp"

namespace training_support {

using xgrad::Tensor;
namespace data = xgrad::data;

/// The command line both training examples take; each starts from its own defaults.
struct Settings {
  std::string data_dir = data::FashionMNIST::default_root;
  std::int64_t epochs = 10;
  std::int64_t batch_size = 64;
  double lr = 0.05;
  int threads = 0;  // 0: xgrad's default
  std::string checkpoint;
  bool resume = false;
  std::uint64_t seed = 0;
  std::int64_t limit = 0;  // 0: every image; N: the first N of each set (quick runs, smoke tests)
};

/// `defaults` overridden by the command line (examples/cli.hpp: --help, or exit 2 on a mistake).
inline Settings parse(int argc, char** argv, std::string description, Settings defaults) {
  Settings s = std::move(defaults);
  cli::App app{std::move(description)};
  app.add_option("--data", s.data_dir, "Fashion-MNIST folder (IDX files, .gz or raw)")->check(CLI::ExistingDirectory);
  app.add_option("--epochs", s.epochs, "epochs to train (the cosine schedule's length)")->check(cli::positive);
  app.add_option("--batch-size", s.batch_size, "training images per SGD step")->check(cli::positive);
  app.add_option("--lr", s.lr, "initial learning rate")->check(cli::positive);
  cli::add_threads(app, s.threads);
  app.add_option("--checkpoint", s.checkpoint, "checkpoint written after every epoch, read by --resume");
  app.add_flag("--resume", s.resume, "continue from --checkpoint");
  app.add_option("--seed", s.seed, "seed of the initialisation and the shuffling")->check(cli::non_negative);
  app.add_option("--limit", s.limit, "train and test on the first N images of each set (0: all)")
      ->check(cli::non_negative);
  app.callback([&s] {
    if (s.resume && !std::filesystem::exists(s.checkpoint))
      throw CLI::ValidationError("--resume", "no checkpoint " + s.checkpoint + " to continue from");
  });
  cli::parse_or_exit(app, argc, argv);
  return s;
}

/// Fashion-MNIST's training or test set, cut to its first `settings.limit` images when set.
inline std::shared_ptr<data::Dataset> fashion_mnist(const Settings& settings, bool train) {
  auto full = std::make_shared<data::FashionMNIST>(settings.data_dir, train);
  if (settings.limit == 0 || settings.limit >= full->size()) return full;
  std::vector<std::int64_t> first(static_cast<std::size_t>(settings.limit));
  std::iota(first.begin(), first.end(), std::int64_t{0});
  return std::make_shared<data::Subset>(full, std::move(first));
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

inline std::int64_t correct_predictions(const Tensor& logits, const Tensor& labels) {
  const auto predicted = logits.argmax(1).to_vector<std::int64_t>();
  const auto truth = labels.to_vector<std::int64_t>();
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
  return correct;
}

inline double evaluate(xgrad::nn::Module& model, data::DataLoader& loader) {
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

inline void save(const std::string& path, xgrad::nn::Module& model, const xgrad::optim::Optimizer& optimizer,
          const xgrad::optim::LRScheduler& scheduler, std::int64_t epoch) {
  xgrad::Checkpoint checkpoint{model.state_dict(), optimizer.state_dict(), epoch,
                               xgrad::default_generator().state(), {}};
  for (auto& [name, tensor] : scheduler.state_dict()) checkpoint.optimizer.emplace_back(kSchedulerPrefix + name, tensor);
  xgrad::save_checkpoint(checkpoint, path);
}

inline std::int64_t restore(const std::string& path, xgrad::nn::Module& model, xgrad::optim::Optimizer& optimizer,
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

struct FitOptions {
  std::int64_t epochs = 1;
  std::string checkpoint;
  bool resume = false;  ///< continue from `checkpoint`
};

/// Trains `model` for the remaining epochs with cross-entropy, a progress bar,
/// an epoch summary (train loss and accuracy, test accuracy, time, images/s),
/// one scheduler step and a checkpoint after every epoch.
inline void fit(const std::string& name, xgrad::nn::Module& model, xgrad::optim::Optimizer& optimizer,
                xgrad::optim::LRScheduler& scheduler, data::DataLoader& train_loader, data::DataLoader& test_loader,
                const FitOptions& options) {
  std::int64_t first_epoch = 0;
  if (options.resume) {
    first_epoch = restore(options.checkpoint, model, optimizer, scheduler);
    spdlog::info("resumed from {} after epoch {}", options.checkpoint, first_epoch);
  }
  const auto train_size = static_cast<std::int64_t>(train_loader.dataset()->size());
  spdlog::info("training {} on {} images, testing on {}, {} threads", name, train_size,
               test_loader.dataset()->size(), xgrad::get_num_threads());
  for (std::int64_t epoch = first_epoch; epoch < options.epochs; ++epoch) {
    train_loader.set_epoch(epoch);
    ProgressBar bar(epoch + 1, options.epochs,
                    train_loader.options().drop_last ? train_loader.size() * train_loader.options().batch_size
                                                     : train_size);
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t seen = 0, correct = 0;
    for (const data::Batch& batch : train_loader) {
      const Tensor logits = model(batch.inputs);
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
    const double test_accuracy = evaluate(model, test_loader);
    spdlog::info("epoch {}/{}: train loss {:.4f}, train accuracy {:.2f}%, test accuracy {:.2f}%, {:.1f} s, {:.0f} "
                 "images/s, lr {:.4g}",
                 epoch + 1, options.epochs, loss_sum / static_cast<double>(seen),
                 100.0 * static_cast<double>(correct) / static_cast<double>(seen), 100 * test_accuracy, seconds,
                 static_cast<double>(seen) / seconds, optimizer.lr());
    save(options.checkpoint, model, optimizer, scheduler, epoch + 1);
  }
  spdlog::info("checkpoint: {}", std::filesystem::absolute(options.checkpoint).string());
}

}  // namespace training_support
