#pragma once
// Internal: the process group's pieces DistributedDataParallel builds on.

#include <cstdint>
#include <string>
#include <vector>

#include "xgrad/distributed.hpp"

namespace xgrad::distributed::detail {

// Error unless init() has been called (and finalize() has not); `op` names the caller.
void require_initialized(const char* op);
// all_reduce of a tensor whose layout the ranks already agreed on (DDP's buckets
// are checked once, at construction): no signature exchange. `what` names it in
// a timeout.
Work all_reduce_agreed(const Tensor& tensor, ReduceOp op, std::string what);
// `tensors` (any dtypes) replaced by root's, packed into one message; their
// layout must already be agreed.
void broadcast_agreed(const std::vector<Tensor>& tensors, int root, std::string what);
// Throws the same Error on every rank unless every rank passed the same values;
// `what` describes them in the message ("the parameters' shapes").
void check_same_on_all_ranks(const char* op, const std::string& what, const std::vector<std::int64_t>& values);

}  // namespace xgrad::distributed::detail
