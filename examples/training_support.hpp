#pragma once
// Shared by the training examples: the command line, a progress bar, accuracy, evaluation,
// checkpoints holding model, optimiser, scheduler, epoch and random state, and the
// --distributed mode (data-parallel over the processes of mpiexec, docs/distributed.md).

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
  bool distributed = false;  // one of the processes of mpiexec; batch_size is the job's, split among them
  std::int64_t steps = 0;    // 0: every step; N: stop after N steps (an unfinished epoch is not saved)
  std::string loss_log = "";  // one line "step loss" per step (the job's mean loss), written by rank 0
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
  app.add_flag("--distributed", s.distributed,
               "data-parallel training over the processes of mpiexec: each takes --batch-size / N of every step");
  app.add_option("--steps", s.steps,
                 "stop after N training steps; an epoch left unfinished is not checkpointed (0: every epoch)")
      ->check(cli::non_negative);
  app.add_option("--loss-log", s.loss_log, "write each step's loss (the mean over the whole batch) to this file");
  app.callback([&s] {
    if (s.resume && !std::filesystem::exists(s.checkpoint))
      throw CLI::ValidationError("--resume", "no checkpoint " + s.checkpoint + " to continue from");
  });
  cli::parse_or_exit(app, argc, argv);
  return s;
}

/// Joins the job (--distributed; rank 0 alone logs), sets the threads and the seed.
inline void start(const Settings& settings) {
  if (settings.distributed) {
    xgrad::distributed::init();
    if (xgrad::distributed::rank() != 0) spdlog::set_level(spdlog::level::warn);
    spdlog::info("distributed: {} processes ({} on this machine)", xgrad::distributed::world_size(),
                 xgrad::distributed::local_world_size());
  }
  if (settings.threads > 0) xgrad::set_num_threads(settings.threads);
  xgrad::manual_seed(settings.seed);
}

/// What main's catch does: alone, print and return 1; one of several processes,
/// end the whole job (the others would wait for this one forever).
inline int fail(const std::string& program, const std::exception& e) {
  if (xgrad::distributed::is_initialized() && xgrad::distributed::world_size() > 1)
    xgrad::distributed::abort(program + ": " + e.what());
  std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
  return 1;
}

inline bool is_main_process() { return !xgrad::distributed::is_initialized() || xgrad::distributed::rank() == 0; }

/// The training batches: shuffled by (seed, epoch). Distributed, each of N
/// processes takes its shard (a DistributedSampler over the same permutation) in
/// batches of batch_size / N, so a step of the job sees the batch one process
/// would; the transforms' random draws differ by rank.
inline data::DataLoader train_loader(const Settings& settings, std::shared_ptr<data::Dataset> dataset,
                                     data::Transform transform) {
  if (!settings.distributed)
    return data::DataLoader(dataset, {.batch_size = settings.batch_size, .shuffle = true, .seed = settings.seed},
                            std::move(transform));
  const int world = xgrad::distributed::world_size(), rank = xgrad::distributed::rank();
  if (settings.batch_size % world != 0)
    throw xgrad::ValueError("--batch-size " + std::to_string(settings.batch_size) + " does not split evenly among " +
                            std::to_string(world) + " processes");
  auto sampler = std::make_shared<data::DistributedSampler>(dataset->size(),
                                                            data::DistributedSamplerOptions{.seed = settings.seed});
  return data::DataLoader(dataset,
                          {.batch_size = settings.batch_size / world,
                           .seed = settings.seed + static_cast<std::uint64_t>(rank),
                           .sampler = sampler},
                          std::move(transform));
}

/// The test images; distributed, each process evaluates every N-th one (evaluate() adds up the counts).
inline data::DataLoader test_loader(const Settings& settings, std::shared_ptr<data::Dataset> dataset,
                                    std::int64_t batch_size, data::Transform transform) {
  if (settings.distributed && xgrad::distributed::world_size() > 1) {
    std::vector<std::int64_t> mine;
    for (std::int64_t i = xgrad::distributed::rank(); i < dataset->size(); i += xgrad::distributed::world_size())
      mine.push_back(i);
    dataset = std::make_shared<data::Subset>(dataset, std::move(mine));
  }
  return data::DataLoader(dataset, {.batch_size = batch_size}, std::move(transform));
}

/// `model`, or (--distributed) a DistributedDataParallel around it, which starts from rank 0's weights.
inline std::shared_ptr<xgrad::nn::Module> parallel(const Settings& settings, std::shared_ptr<xgrad::nn::Module> model) {
  if (!settings.distributed) return model;
  return std::make_shared<xgrad::distributed::DistributedDataParallel>(std::move(model));
}

// Sums of several processes' counts (a no-op alone).
inline std::vector<double> summed(std::vector<double> counts) {
  if (!xgrad::distributed::is_initialized() || xgrad::distributed::world_size() == 1) return counts;
  Tensor t = xgrad::from_vector(counts, {static_cast<std::int64_t>(counts.size())});
  xgrad::distributed::all_reduce(t, xgrad::distributed::ReduceOp::sum);
  return t.to_vector<double>();
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
    if (!is_main_process()) return;
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
  const std::vector<double> total = summed({static_cast<double>(correct), static_cast<double>(seen)});
  return total[0] / total[1];
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
  std::int64_t steps = 0;  ///< stop after this many steps (0: no limit); an unfinished epoch is not saved
  std::string loss_log = "";  ///< each step's loss, averaged over the processes
};

inline FitOptions fit_options(const Settings& settings) {
  return {.epochs = settings.epochs, .checkpoint = settings.checkpoint, .resume = settings.resume,
          .steps = settings.steps, .loss_log = settings.loss_log};
}

/// Trains `model` for the remaining epochs with cross-entropy, a progress bar,
/// an epoch summary (train loss and accuracy, test accuracy, time, images/s),
/// one scheduler step and a checkpoint after every epoch. Distributed, the
/// summary adds up every process's counts, and rank 0 alone writes the
/// checkpoint (every rank reads it on --resume).
inline void fit(const std::string& name, xgrad::nn::Module& model, xgrad::optim::Optimizer& optimizer,
                xgrad::optim::LRScheduler& scheduler, data::DataLoader& train_loader, data::DataLoader& test_loader,
                const FitOptions& options) {
  std::int64_t first_epoch = 0;
  if (options.resume) {
    first_epoch = restore(options.checkpoint, model, optimizer, scheduler);
    spdlog::info("resumed from {} after epoch {}", options.checkpoint, first_epoch);
  }
  // Distributed, every process's loader holds the whole training set (its sampler the shard), and its share of the test set.
  const double test_size = summed({static_cast<double>(test_loader.dataset()->size())})[0];
  spdlog::info("training {} on {} images, testing on {}, {} threads{}", name, train_loader.dataset()->size(), test_size,
               xgrad::get_num_threads(), xgrad::distributed::is_initialized() ? " per process" : "");
  std::FILE* loss_log = nullptr;
  if (!options.loss_log.empty() && is_main_process()) {
    loss_log = std::fopen(options.loss_log.c_str(), "w");
    if (!loss_log) throw xgrad::IOError("cannot write the loss log " + options.loss_log);
  }
  std::int64_t step = 0;
  bool saved = false;
  for (std::int64_t epoch = first_epoch; epoch < options.epochs; ++epoch) {
    train_loader.set_epoch(epoch);
    const std::int64_t shard = train_loader.options().sampler ? train_loader.options().sampler->size()
                                                              : train_loader.dataset()->size();
    ProgressBar bar(epoch + 1, options.epochs,
                    train_loader.options().drop_last ? train_loader.size() * train_loader.options().batch_size : shard);
    const auto start_time = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t seen = 0, correct = 0, epoch_steps = 0;
    bool limit_reached = false;
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
      if (!options.loss_log.empty()) {
        const double job_loss = summed({loss.item()})[0] /
                                (xgrad::distributed::is_initialized() ? xgrad::distributed::world_size() : 1);
        if (loss_log) std::fprintf(loss_log, "%lld %.9g\n", static_cast<long long>(step), job_loss);
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
      bar.update(seen, loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen),
                 static_cast<double>(seen) / seconds);
      ++epoch_steps;
      if (++step == options.steps) {
        limit_reached = true;
        break;
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
    const std::vector<double> total = summed({loss_sum, static_cast<double>(seen), static_cast<double>(correct)});
    // --steps ending the run in the middle of an epoch: that epoch is not finished, so not saved.
    const bool stopped = limit_reached && epoch_steps < train_loader.size();
    if (!stopped) scheduler.step();
    const double test_accuracy = evaluate(model, test_loader);
    spdlog::info("epoch {}/{}: train loss {:.4f}, train accuracy {:.2f}%, test accuracy {:.2f}%, {:.1f} s, {:.0f} "
                 "images/s, lr {:.4g}",
                 epoch + 1, options.epochs, total[0] / total[1], 100.0 * total[2] / total[1], 100 * test_accuracy,
                 seconds, total[1] / seconds, optimizer.lr());
    if (stopped) {
      spdlog::info("stopped after {} steps (--steps), in the middle of epoch {}: no checkpoint written", step,
                   epoch + 1);
      break;
    }
    if (is_main_process()) save(options.checkpoint, model, optimizer, scheduler, epoch + 1);
    saved = true;
    if (limit_reached) break;
  }
  if (loss_log) std::fclose(loss_log);
  if (saved) spdlog::info("checkpoint: {}", std::filesystem::absolute(options.checkpoint).string());
}

}  // namespace training_support
