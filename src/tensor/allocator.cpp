// The caching allocator behind tensor storage (see xgrad/memory.hpp).

#include "tensor/allocator.hpp"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "xgrad/memory.hpp"

namespace xgrad::detail {

namespace {

constexpr std::size_t kAlignment = 64;                            // a cache line, one AVX-512 register
constexpr std::size_t kCachedFrom = std::size_t{64} << 10;         // smaller buffers go to malloc directly
constexpr std::size_t kDefaultLimit = std::size_t{4} << 30;

std::size_t round_up(std::size_t n, std::size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// Eight classes per power of two: 64 KiB, 72 KiB, 80 KiB, ... 128 KiB, 144 KiB, ...
std::size_t size_class(std::size_t nbytes) {
  const std::size_t step = std::bit_floor(nbytes) / 8;
  return round_up(nbytes, step);
}

std::byte* system_allocate(std::size_t bytes) {
  auto* data = static_cast<std::byte*>(std::aligned_alloc(kAlignment, bytes));
  if (data == nullptr) throw std::bad_alloc();
  return data;
}

class BlockCache {
 public:
  Block take(std::size_t nbytes) {
    const std::size_t capacity = size_class(nbytes);
    {
      std::lock_guard lock(mutex_);
      stats_.allocated_bytes += capacity;
      stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
      // The smallest idle buffer of this class or a larger one, up to twice the
      // size: a buffer of another class left idle is still resident, so
      // reusing it beats asking the system for more.
      for (auto found = free_.lower_bound(capacity); found != free_.end() && found->first <= 2 * capacity; ++found) {
        if (found->second.empty()) continue;
        std::byte* data = found->second.back();
        found->second.pop_back();
        stats_.allocated_bytes += found->first - capacity;
        stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
        stats_.cached_bytes -= found->first;
        return {data, found->first};
      }
    }
    try {
      return {system_allocate(capacity), capacity};
    } catch (...) {
      // Out of memory: give the idle buffers back and try once more.
      empty();
      try {
        return {system_allocate(capacity), capacity};
      } catch (...) {
        std::lock_guard lock(mutex_);
        stats_.allocated_bytes -= capacity;
        throw;
      }
    }
  }

  void give_back(Block block) {
    {
      std::lock_guard lock(mutex_);
      stats_.allocated_bytes -= block.capacity;
      if (stats_.cached_bytes + block.capacity <= limit_) {
        free_[block.capacity].push_back(block.data);
        stats_.cached_bytes += block.capacity;
        return;
      }
    }
    std::free(block.data);
  }

  void empty() {
    std::map<std::size_t, std::vector<std::byte*>> idle;
    {
      std::lock_guard lock(mutex_);
      idle.swap(free_);
      stats_.cached_bytes = 0;
    }
    for (auto& [capacity, blocks] : idle)
      for (std::byte* data : blocks) std::free(data);
  }

  void set_limit(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      limit_ = bytes;
    }
    empty();
  }

  MemoryStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  void reset_peak() {
    std::lock_guard lock(mutex_);
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }

 private:
  std::mutex mutex_;
  std::map<std::size_t, std::vector<std::byte*>> free_;  // by capacity, ordered for best fit
  std::size_t limit_ = kDefaultLimit;
  MemoryStats stats_;
};

// Never destroyed: tensors in static storage may be freed after any static
// object here would have been.
BlockCache& cache() {
  static auto* instance = new BlockCache;
  return *instance;
}

}  // namespace

Block allocate_block(std::size_t nbytes) {
  if (nbytes < kCachedFrom) {
    const std::size_t bytes = round_up(nbytes == 0 ? 1 : nbytes, kAlignment);
    return {system_allocate(bytes), bytes};
  }
  return cache().take(nbytes);
}

void release_block(Block block) {
  if (block.capacity < kCachedFrom) {
    std::free(block.data);
    return;
  }
  cache().give_back(block);
}

}  // namespace xgrad::detail

namespace xgrad {

MemoryStats memory_stats() { return detail::cache().stats(); }
void reset_peak_memory_stats() { detail::cache().reset_peak(); }
void empty_cache() { detail::cache().empty(); }
void set_memory_cache_limit(std::size_t bytes) { detail::cache().set_limit(bytes); }

}  // namespace xgrad
