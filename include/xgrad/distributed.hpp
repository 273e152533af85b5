#pragma once
/// \file distributed.hpp
/// Data-parallel training over MPI (Debian's Open MPI): a process group with
/// collectives on tensors, and DistributedDataParallel, which averages gradients
/// across processes while backward is still running. The only xgrad header that
/// concerns MPI; it does not include <mpi.h>. docs/distributed.md has the design,
/// the measurements and how to run on several machines.
///
///   xgrad::distributed::init();                          // under mpiexec, or alone (world of 1)
///   auto model = xgrad::models::resnet20({.num_classes = 10});
///   auto ddp = std::make_shared<xgrad::distributed::DistributedDataParallel>(model);
///   xgrad::optim::SGD sgd(ddp->parameters(), {.lr = 0.1, .momentum = 0.9});
///   auto sampler = std::make_shared<xgrad::data::DistributedSampler>(train->size(), {.seed = 1});
///   xgrad::data::DataLoader loader(train, {.batch_size = 64, .sampler = sampler});
///   for (const auto& batch : loader) {
///     auto loss = xgrad::cross_entropy((*ddp)(batch.inputs), batch.targets);
///     sgd.zero_grad();
///     loss.backward();  // returns with .grad() averaged over every process
///     sgd.step();
///   }
///
///   mpiexec -n 2 ./train            # two processes on this machine
///
/// Every collective runs on one communication thread per process, in the order
/// the calls were made, so every rank must make the same collective calls in
/// the same order (as in MPI). Floating-point sums use a fixed-order ring
/// reduction: the same inputs on the same number of processes give the same
/// bits, on every rank and in every run. Without MPI at build time (XGRAD_WITH_MPI
/// off) everything here works as a world of one process.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::distributed {

/// Declared in this order for designated initialisers.
struct InitOptions {
  /// How long a collective (and finalize at exit) may wait for the other ranks
  /// before the job is aborted with a message naming it: a rank that left or
  /// hangs ends the job instead of hanging it. XGRAD_DIST_TIMEOUT (seconds)
  /// overrides it.
  double timeout_seconds = 600;
  /// Split the hardware threads among the processes of this machine
  /// (set_num_threads(max(1, hardware threads / local processes))), unless
  /// XGRAD_NUM_THREADS is set. Call set_num_threads afterwards to choose yourself.
  bool share_threads = true;
};

/// Joins the process group: MPI_Init_thread (MPI_THREAD_MULTIPLE) under mpiexec,
/// a world of one process otherwise. Idempotent (later calls return at once).
/// Installs a terminate handler that aborts the whole job with this rank's
/// message, and finalizes at exit if finalize() was not called.
void init(InitOptions options = {});
bool is_initialized();
/// Whether xgrad was built with MPI (false: a world of one process only).
bool mpi_available();
/// This process's rank in [0, world_size()), and the number of processes.
/// Throw Error before init().
int rank();
int world_size();
/// Rank among, and number of, the processes on this machine.
int local_rank();
int local_world_size();
/// Waits (up to the timeout) until every rank has reached finalize, then leaves
/// the process group. After it, collectives throw; init() cannot be called again.
void finalize();
/// Logs "xgrad: rank R of N: <message>; aborting the job" to stderr and ends
/// every process of the job with `exit_code` (MPI_Abort). Use it when one rank
/// cannot go on: the others would otherwise wait for it in their next collective.
[[noreturn]] void abort(const std::string& message, int exit_code = 1);

enum class ReduceOp { sum, avg, max, min };
const char* reduce_op_name(ReduceOp op);

namespace detail {
struct WorkState;
}

/// An asynchronous collective. wait() blocks until it has completed on this
/// rank (rethrowing its error, or aborting the job after the timeout); the
/// tensor it was given must stay untouched until then.
class Work {
 public:
  Work() = default;
  explicit Work(std::shared_ptr<detail::WorkState> state) : state_(std::move(state)) {}
  void wait() const;
  bool is_completed() const;
  /// When the communication thread started and finished it (after wait()).
  std::chrono::steady_clock::time_point started() const;
  std::chrono::steady_clock::time_point finished() const;

 private:
  std::shared_ptr<detail::WorkState> state_;
};

// Collectives. Tensors must be contiguous, of dtype f32, f64 or i64, and have
// the same shape and dtype on every rank: each call checks that by exchanging a
// few bytes first and throws the same Error on every rank when they differ. The
// results are written into the given tensor (not recorded by autograd).

/// Every rank's `tensor` replaced by the elementwise reduction over ranks. avg
/// divides the sum by world_size(); refused (DTypeError) for i64.
void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::sum);
/// all_reduce started on the communication thread; returns at once.
Work all_reduce_async(Tensor& tensor, ReduceOp op = ReduceOp::sum);
/// `tensor` on every rank replaced by root's.
void broadcast(Tensor& tensor, int root = 0);
/// Every rank's `tensor`, in rank order (new tensors; [0] is rank 0's).
std::vector<Tensor> all_gather(const Tensor& tensor);
/// `tensor` split along dim 0 into world_size() equal parts; returns this rank's
/// part reduced over ranks (dim 0 must divide evenly). The input is unchanged.
Tensor reduce_scatter(const Tensor& tensor, ReduceOp op = ReduceOp::sum);
/// Returns once every rank has called it.
void barrier();

// ---- DistributedDataParallel ---------------------------------------------------

/// Declared in this order for designated initialisers (PyTorch's names).
struct DDPOptions {
  /// Gradients are averaged in buckets of about this many MiB (the first,
  /// holding the last layers, is at most 1 MiB so that it starts early).
  double bucket_cap_mb = 25.0;
  /// Broadcast the buffers (batch norm's running statistics) from rank 0 before
  /// each forward that records a graph, as PyTorch does.
  bool broadcast_buffers = true;
  /// Allow parameters that get no gradient in a backward (they are treated as
  /// zero on that rank; one that no rank used keeps an undefined grad()). When
  /// false, such a parameter makes backward throw, naming it.
  bool find_unused_parameters = false;
};

/// What one bucket holds (the same on every rank).
struct BucketInfo {
  DType dtype;
  std::int64_t numel;
  std::vector<std::string> parameters;  ///< in the order their gradients are expected
};

/// Timestamps of the last synchronised backward, in seconds since its first
/// gradient was ready.
struct ReductionTimeline {
  struct Bucket {
    double ready;     ///< its last gradient was ready; the all-reduce was queued (in bucket order)
    double started;   ///< the communication thread began it
    double finished;  ///< it completed
  };
  std::vector<Bucket> buckets;
  double backward_end = 0;  ///< every node of the backward had run
  double wait_end = 0;      ///< every bucket had completed and .grad() was written
  /// Part of the all-reduce time (summed over buckets) that ran before backward_end.
  double hidden_fraction() const;
};

/// Wraps a module for data-parallel training (PyTorch's DistributedDataParallel):
/// at construction the parameters and buffers of rank 0 are broadcast, and the
/// parameter layout is checked to be the same on every rank. Each backward then
/// copies every gradient, as soon as it is accumulated, into its bucket; a
/// bucket's asynchronous all-reduce (avg) is started when its last gradient is
/// ready, buckets in order; backward returns once every bucket has completed,
/// with the averaged gradients in each parameter's .grad().
///
/// The wrapper has the wrapped module's parameters, buffers and submodules under
/// the same names (no "module." prefix), so state_dict() loads into a
/// single-process model and parameters() is what an optimiser takes. Convert
/// dtypes (to()) before wrapping. forward() calls the wrapped module.
class DistributedDataParallel : public nn::Module {
 public:
  /// Requires init(). Throws ValueError for a null module or bucket_cap_mb <= 0,
  /// Error when the ranks' parameters differ in number, shapes or dtypes.
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions options = {});
  ~DistributedDataParallel() override;

  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  const std::shared_ptr<nn::Module>& module() const { return module_; }
  const DDPOptions& options() const { return options_; }
  const std::vector<BucketInfo>& buckets() const;

  /// While one is alive, forward/backward pairs only accumulate gradients
  /// locally (no communication); the first synchronised backward after it
  /// averages the accumulated sums.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

  /// The last synchronised backward's bucket timestamps (empty before one).
  ReductionTimeline last_timeline() const;

 protected:
  void on_train(bool on) override;

 private:
  class Reducer;
  std::shared_ptr<nn::Module> module_;
  DDPOptions options_;
  std::unique_ptr<Reducer> reducer_;
  int no_sync_depth_ = 0;
};

}  // namespace xgrad::distributed
