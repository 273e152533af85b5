#pragma once
/// \file memory.hpp
/// Tensor memory. Large buffers (64 KiB and more) are kept in a cache when their
/// last tensor goes and handed to the next tensor that fits: the smallest idle
/// buffer of its size class or a larger one, at most twice its size (an idle
/// buffer is still resident, so reusing it beats asking the system for more). A
/// training loop, which allocates the same sizes every step, stops asking the
/// system for memory after its first step (fresh pages cost a page fault each:
/// about 0.1 ms per MiB here). Size classes are an eighth of a power of two
/// apart. Small buffers go straight to malloc, which already recycles them.

#include <cstddef>

namespace xgrad {

struct MemoryStats {
  std::size_t allocated_bytes = 0;       ///< held by live tensors (size-class rounded)
  std::size_t peak_allocated_bytes = 0;  ///< the most held at once since the last reset
  std::size_t cached_bytes = 0;          ///< freed and kept for reuse
};

/// Counts of the large-buffer cache (small buffers are not counted).
MemoryStats memory_stats();
/// Starts peak_allocated_bytes again from the current allocation.
void reset_peak_memory_stats();
/// Returns every cached buffer to the system.
void empty_cache();
/// Caps the cached (idle) bytes; a buffer freed beyond the cap goes back to the
/// system. 0 turns caching off. Default: 4 GiB.
void set_memory_cache_limit(std::size_t bytes);

}  // namespace xgrad
