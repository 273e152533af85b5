// The process group's wire: Open MPI. Reductions are a ring of MPI_Sendrecv
// steps written here rather than MPI_Allreduce, whose algorithm (and so the
// order in which floating-point values are added) Open MPI picks by message size
// and process count: the ring adds each element's values in an order fixed by
// the world size alone, so runs and ranks agree bit for bit (docs/distributed.md).

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <vector>

#include "distributed/transport.hpp"
#include "util/check.hpp"

namespace xgrad::distributed::detail {

using xgrad::detail::fail;

namespace {

MPI_Comm comm = MPI_COMM_NULL;  // a duplicate of MPI_COMM_WORLD: xgrad's messages never meet the user's
bool we_initialised = false;
Layout layout;

constexpr int kTag = 7;
// MPI counts are int: longer transfers go in pieces of at most this many elements.
constexpr std::int64_t kPiece = std::int64_t{1} << 30;

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f64:
      return MPI_DOUBLE;
    case DType::i64:
      return MPI_INT64_T;
    default:
      fail<DTypeError>("distributed: no MPI reduction for dtype {}", dtype_name(dtype));
  }
}

template <class T>
void combine(T* into, const T* from, std::int64_t n, ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg:
      for (std::int64_t i = 0; i < n; ++i) into[i] += from[i];
      return;
    case ReduceOp::max:  // NaN wins, as in PyTorch
      for (std::int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(from[i]) || from[i] > into[i]) into[i] = from[i];
        } else {
          into[i] = std::max(into[i], from[i]);
        }
      }
      return;
    case ReduceOp::min:
      for (std::int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(from[i]) || from[i] < into[i]) into[i] = from[i];
        } else {
          into[i] = std::min(into[i], from[i]);
        }
      }
      return;
  }
}

template <class T>
void divide(T* data, std::int64_t n, int by) {
  if constexpr (std::is_floating_point_v<T>)
    for (std::int64_t i = 0; i < n; ++i) data[i] /= static_cast<T>(by);
}

// Sends `send_count` elements to the right neighbour while receiving
// `recv_count` from the left one. A message goes in pieces MPI's int counts can
// hold; how many depends on its own size only (so both ends agree), and there
// is always one, empty or not.
template <class T>
void exchange(const T* send, std::int64_t send_count, T* recv, std::int64_t recv_count, MPI_Datatype type) {
  const int right = (layout.rank + 1) % layout.world, left = (layout.rank + layout.world - 1) % layout.world;
  std::vector<MPI_Request> requests;
  for (std::int64_t done = 0; done == 0 || done < recv_count; done += kPiece) {
    requests.emplace_back();
    MPI_Irecv(recv + done, static_cast<int>(std::min(kPiece, recv_count - done)), type, left, kTag, comm,
              &requests.back());
  }
  for (std::int64_t done = 0; done == 0 || done < send_count; done += kPiece) {
    requests.emplace_back();
    MPI_Isend(send + done, static_cast<int>(std::min(kPiece, send_count - done)), type, right, kTag, comm,
              &requests.back());
  }
  MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
}

// Chunk c of a ring over n elements: [begin(c), begin(c + 1)).
struct Chunks {
  std::int64_t n;
  int world;
  std::int64_t begin(int c) const { return n * c / world; }
  std::int64_t size(int c) const { return begin(c + 1) - begin(c); }
  int wrap(int c) const { return ((c % world) + world) % world; }
};

// world - 1 steps: at step s rank r sends chunk r - s + shift to the right and
// adds the left's chunk r - s - 1 + shift into its own, so chunk r + 1 + shift
// ends reduced here. Each chunk's sum runs along the ring in a fixed order.
template <class T>
int ring_reduce_scatter(T* data, const Chunks& chunks, int shift, ReduceOp op, MPI_Datatype type) {
  const int r = layout.rank;
  // Kept from call to call (the communication thread is the only caller): a
  // fresh buffer would be page-faulted in again for every bucket.
  static std::vector<std::byte> buffer;
  buffer.resize(
      std::max(buffer.size(), static_cast<std::size_t>((chunks.n + chunks.world - 1) / chunks.world) * sizeof(T)));
  T* scratch = reinterpret_cast<T*>(buffer.data());
  for (int s = 0; s < chunks.world - 1; ++s) {
    const int send = chunks.wrap(r - s + shift), recv = chunks.wrap(r - s - 1 + shift);
    exchange(data + chunks.begin(send), chunks.size(send), scratch, chunks.size(recv), type);
    combine(data + chunks.begin(recv), scratch, chunks.size(recv), op);
  }
  return chunks.wrap(r + 1 + shift);
}

template <class T>
void ring_all_reduce(T* data, std::int64_t count, ReduceOp op) {
  const MPI_Datatype type = mpi_type(dtype_of<T>);
  const Chunks chunks{count, layout.world};
  const int owned = ring_reduce_scatter(data, chunks, 0, op, type);
  if (op == ReduceOp::avg) divide(data + chunks.begin(owned), chunks.size(owned), layout.world);
  // world - 1 steps of passing the reduced chunks on around the ring.
  for (int s = 0; s < layout.world - 1; ++s) {
    const int send = chunks.wrap(owned - s), recv = chunks.wrap(owned - s - 1);
    exchange(data + chunks.begin(send), chunks.size(send), data + chunks.begin(recv), chunks.size(recv), type);
  }
}

template <class T>
void ring_reduce_scatter_owned(T* data, std::int64_t count, ReduceOp op) {
  const Chunks chunks{count, layout.world};
  const int owned = ring_reduce_scatter(data, chunks, -1, op, mpi_type(dtype_of<T>));
  if (op == ReduceOp::avg) divide(data + chunks.begin(owned), chunks.size(owned), layout.world);
}

template <class F>
void by_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32:
      return f(float{});
    case DType::f64:
      return f(double{});
    case DType::i64:
      return f(std::int64_t{});
    default:
      fail<DTypeError>("distributed: no reduction for dtype {}", dtype_name(dtype));
  }
}

}  // namespace

bool transport_has_mpi() { return true; }

Layout transport_init() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  int provided = MPI_THREAD_SINGLE;
  if (initialised) {
    MPI_Query_thread(&provided);
  } else {
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    we_initialised = true;
  }
  // Collectives run on xgrad's communication thread while the caller's thread
  // may abort: SERIALIZED is the least that allows it.
  if (provided < MPI_THREAD_SERIALIZED)
    fail<Error>(
        "distributed::init: MPI provides thread level {} but xgrad needs MPI_THREAD_SERIALIZED ({}) or more "
        "(it was initialised before with less)",
        provided, MPI_THREAD_SERIALIZED);
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_ARE_FATAL);
  MPI_Comm_rank(comm, &layout.rank);
  MPI_Comm_size(comm, &layout.world);
  MPI_Comm local;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, layout.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &layout.local_rank);
  MPI_Comm_size(local, &layout.local_world);
  MPI_Comm_free(&local);
  return layout;
}

void transport_finalize() {
  if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (we_initialised && !finalised) MPI_Finalize();
}

void transport_abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; in case an MPI does
}

void transport_all_reduce(void* data, std::int64_t count, DType dtype, ReduceOp op) {
  if (layout.world == 1) return;
  by_dtype(dtype, [&](auto zero) { ring_all_reduce(static_cast<decltype(zero)*>(data), count, op); });
}

void transport_reduce_scatter(void* data, std::int64_t count, DType dtype, ReduceOp op) {
  if (layout.world == 1) return;
  by_dtype(dtype, [&](auto zero) { ring_reduce_scatter_owned(static_cast<decltype(zero)*>(data), count, op); });
}

void transport_broadcast(void* data, std::int64_t bytes, int root) {
  auto* p = static_cast<char*>(data);
  for (std::int64_t done = 0; done < bytes; done += kPiece)
    MPI_Bcast(p + done, static_cast<int>(std::min(kPiece, bytes - done)), MPI_BYTE, root, comm);
}

void transport_all_gather(const void* send, void* recv, std::int64_t bytes) {
  if (bytes > INT_MAX) fail<Error>("all_gather: {} bytes per rank is more than MPI's int count holds", bytes);
  MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes), MPI_BYTE, comm);
}

void transport_barrier() { MPI_Barrier(comm); }

}  // namespace xgrad::distributed::detail
