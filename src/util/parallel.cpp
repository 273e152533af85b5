// A small thread pool whose workers block on a condition variable between jobs.
// Spinning pools (OpenMP's default) collapse on a shared 2-core machine when a
// neighbour takes a core; sleeping costs a few microseconds per job instead,
// which is why small work stays on the calling thread.

#include "util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/check.hpp"
#include "xgrad/parallel.hpp"

namespace xgrad {

namespace {

int default_threads() {
  if (const char* env = std::getenv("XGRAD_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1) return static_cast<int>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

class Pool {
 public:
  explicit Pool(int threads) { resize(threads); }
  ~Pool() { stop_workers(); }

  int threads() const { return threads_; }

  void resize(int threads) {
    std::lock_guard run(run_mutex_);
    stop_workers();
    threads_ = threads;
    stopping_ = false;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
  }

  // Runs task(i) for i in [0, count) with count <= threads(); index 0 on the caller.
  void run(int count, const std::function<void(int)>& task) {
    std::lock_guard run(run_mutex_);  // one job at a time; callers from other threads wait
    {
      std::lock_guard lock(mutex_);
      task_ = &task;
      count_ = count;
      pending_ = count - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_one(task, 0);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_one(const std::function<void(int)>& task, int index) {
    try {
      task(index);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void work(int index) {
    std::uint64_t seen = 0;
    while (true) {
      const std::function<void(int)>* task = nullptr;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        if (index < count_) task = task_;
      }
      if (!task) continue;
      run_one(*task, index);
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* task_ = nullptr;
  int threads_ = 1;
  int count_ = 0;
  int pending_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

Pool& pool() {
  static Pool instance(default_threads());
  return instance;
}

thread_local bool inside_parallel_region = false;

}  // namespace

namespace {
std::atomic<bool> deterministic{[] {
  const char* env = std::getenv("XGRAD_DETERMINISTIC");
  return env != nullptr && std::string(env) == "1";
}()};
}  // namespace

void use_deterministic_algorithms(bool enabled) { deterministic.store(enabled); }
bool are_deterministic_algorithms_enabled() { return deterministic.load(std::memory_order_relaxed); }

void set_num_threads(int threads) {
  if (threads < 1) detail::fail<ValueError>("set_num_threads: need at least 1 thread, got {}", threads);
  if (threads != pool().threads()) pool().resize(threads);
}

int get_num_threads() { return pool().threads(); }

namespace detail {

int split_count() { return are_deterministic_algorithms_enabled() ? kDeterministicSplit : get_num_threads(); }

void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (end <= begin) return;
  const std::int64_t total = end - begin;
  const std::int64_t by_grain = std::max<std::int64_t>(1, total / std::max<std::int64_t>(grain, 1));
  const int chunks = inside_parallel_region ? 1 : static_cast<int>(std::min<std::int64_t>(pool().threads(), by_grain));
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
  pool().run(chunks, [&](int i) {
    const std::int64_t lo = begin + total * i / chunks;
    const std::int64_t hi = begin + total * (i + 1) / chunks;
    inside_parallel_region = true;
    try {
      fn(lo, hi);
    } catch (...) {
      inside_parallel_region = false;
      throw;
    }
    inside_parallel_region = false;
  });
}

}  // namespace detail

}  // namespace xgrad
