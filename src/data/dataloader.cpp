// DataLoader: each pass (EpochRun) owns its order, its generator and, with
// prefetch, a thread that assembles batches into a queue of two ahead of the caller.

#include "xgrad/data/dataloader.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/order.hpp"
#include "util/check.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::data {

using xgrad::detail::fail;


namespace detail {

class EpochRun {
 public:
  EpochRun(std::shared_ptr<Dataset> dataset, Transform transform, const DataLoaderOptions& options,
           std::int64_t batches, std::int64_t epoch)
      : dataset_(std::move(dataset)),
        transform_(std::move(transform)),
        batch_size_(options.batch_size),
        batches_(batches),
        generator_(epoch_seed(options.seed, epoch)),
        order_(options.sampler ? sampled_order(*options.sampler, epoch, dataset_->size())
                               : visiting_order(dataset_->size(), options.shuffle, generator_)) {
    if (options.prefetch) worker_ = std::thread([this] { produce(); });
  }

  ~EpochRun() {
    if (!worker_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }

  EpochRun(const EpochRun&) = delete;
  EpochRun& operator=(const EpochRun&) = delete;

  // The next batch into `batch`; false after the last one. Rethrows what stopped
  // the worker once the batches before it have been delivered.
  bool next(Batch& batch) {
    if (delivered_ == batches_) return false;
    batch = worker_.joinable() ? take_prefetched() : assemble(delivered_);
    ++delivered_;
    return true;
  }

 private:
  static constexpr std::size_t queue_capacity = 2;

  static std::vector<std::int64_t> sampled_order(const Sampler& sampler, std::int64_t epoch, std::int64_t size) {
    std::vector<std::int64_t> order = sampler.indices(epoch);
    if (static_cast<std::int64_t>(order.size()) != sampler.size())
      fail<ValueError>("DataLoader: the sampler gave {} indices for epoch {} but its size() is {}", order.size(),
                       epoch, sampler.size());
    for (std::int64_t index : order)
      if (index < 0 || index >= size)
        fail<ValueError>("DataLoader: the sampler gave index {} for a dataset of {} examples", index, size);
    return order;
  }

  // Batch `index` of this pass: its examples transformed (drawing from the
  // generator in order) and stacked.
  Batch assemble(std::int64_t index) {
    NoGradGuard no_grad;
    const auto first = static_cast<std::size_t>(index * batch_size_);
    const std::size_t last = std::min(first + static_cast<std::size_t>(batch_size_), order_.size());
    std::vector<Tensor> inputs, targets;
    for (std::size_t i = first; i < last; ++i) {
      Example example = dataset_->get(order_[i]);
      inputs.push_back(transform_ ? transform_(example.input, generator_) : example.input);
      targets.push_back(example.target);
    }
    return {stack(inputs), stack(targets)};
  }

  // The worker: assembles every batch in order, waiting while the queue is full.
  void produce() {
    for (std::int64_t index = 0; index < batches_; ++index) {
      Batch batch;
      try {
        batch = assemble(index);
      } catch (...) {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
        changed_.notify_all();
        return;
      }
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || queue_.size() < queue_capacity; });
      if (stopping_) return;
      queue_.push_back(std::move(batch));
      changed_.notify_all();
    }
  }

  Batch take_prefetched() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !queue_.empty() || error_; });
    if (queue_.empty()) std::rethrow_exception(error_);
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return batch;
  }

  std::shared_ptr<Dataset> dataset_;
  Transform transform_;
  std::int64_t batch_size_;
  std::int64_t batches_;
  Generator generator_;  // used by one thread only: the worker, or the caller without prefetch
  std::vector<std::int64_t> order_;
  std::int64_t delivered_ = 0;

  // Shared with the worker, under mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;  // the queue or stopping_ changed
  std::deque<Batch> queue_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace detail

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options, Transform transform)
    : dataset_(std::move(dataset)), options_(options), transform_(std::move(transform)) {
  if (!dataset_) fail<ValueError>("DataLoader: the dataset is null");
  if (options_.batch_size < 1)
    fail<ValueError>("DataLoader: batch_size must be at least 1, got {}", options_.batch_size);
  if (options_.sampler && options_.shuffle)
    fail<ValueError>("DataLoader: shuffle and a sampler exclude each other (the sampler chooses the order)");
}

std::int64_t DataLoader::size() const {
  const std::int64_t n = options_.sampler ? options_.sampler->size() : dataset_->size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::set_epoch(std::int64_t epoch) {
  if (epoch < 0) fail<ValueError>("DataLoader: set_epoch expects an epoch >= 0, got {}", epoch);
  epoch_ = epoch;
}

DataLoader::Iterator DataLoader::begin() {
  auto run = std::make_unique<detail::EpochRun>(dataset_, transform_, options_, size(), epoch_);
  ++epoch_;
  return Iterator(std::move(run));
}

DataLoader::Iterator::Iterator() = default;
DataLoader::Iterator::Iterator(Iterator&& other) noexcept = default;
DataLoader::Iterator& DataLoader::Iterator::operator=(Iterator&& other) noexcept = default;
DataLoader::Iterator::~Iterator() = default;

DataLoader::Iterator::Iterator(std::unique_ptr<detail::EpochRun> run) : run_(std::move(run)) { ++*this; }

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (!run_->next(batch_)) {
    run_.reset();  // joins the worker
    batch_ = {};
  }
  return *this;
}

}  // namespace xgrad::data
