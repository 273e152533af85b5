#pragma once
// Internal: what the process group needs from the wire. mpi_transport.cpp
// implements it over MPI; local_transport.cpp, built without MPI, is a world of
// one. Everything but init, abort and the layout runs on the communication
// thread (process_group.cpp), one call at a time, in the order the ranks agreed.

#include <cstdint>
#include <string>

#include "xgrad/distributed.hpp"
#include "xgrad/dtype.hpp"

namespace xgrad::distributed::detail {

struct Layout {
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  int local_world = 1;
};

bool transport_has_mpi();
// MPI_Init_thread (MPI_THREAD_MULTIPLE) and the communicator xgrad uses.
Layout transport_init();
void transport_finalize();
[[noreturn]] void transport_abort(int exit_code);

// In place over `count` elements: the deterministic ring (every rank ends with
// the same bits; the order of each element's sum depends only on the world size).
void transport_all_reduce(void* data, std::int64_t count, DType dtype, ReduceOp op);
// In place: chunk r of `count` elements (split in world equal parts) ends
// reduced on rank r; the other chunks are left as scratch.
void transport_reduce_scatter(void* data, std::int64_t count, DType dtype, ReduceOp op);
void transport_broadcast(void* data, std::int64_t bytes, int root);
// `bytes` from every rank into recv (world * bytes), in rank order.
void transport_all_gather(const void* send, void* recv, std::int64_t bytes);
void transport_barrier();

}  // namespace xgrad::distributed::detail
