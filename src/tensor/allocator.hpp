#pragma once
// Internal: the 64-byte aligned buffers behind Storage (see xgrad/memory.hpp).

#include <cstddef>

namespace xgrad::detail {

struct Block {
  std::byte* data;
  std::size_t capacity;  // bytes, what release() needs back
};

/// A buffer of at least `nbytes`, from the cache when one of its size class is free.
Block allocate_block(std::size_t nbytes);
void release_block(Block block);

}  // namespace xgrad::detail
