// The process group: init/finalize, the communication thread that runs every
// collective in call order, Work handles, and the checks that make a mistake on
// one rank an Error on all of them rather than a hang.

#include "distributed/process_group.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "distributed/transport.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/parallel.hpp"

namespace xgrad::distributed {

using xgrad::detail::fail;
using xgrad::detail::str;
using Clock = std::chrono::steady_clock;

namespace detail {

struct WorkState {
  std::string what;  // for the timeout message: "all_reduce(avg) of f32 [1024]"
  std::function<void()> job;
  std::mutex mutex;
  std::condition_variable changed;
  bool done = false;
  std::exception_ptr error;
  Clock::time_point started, finished;
};

}  // namespace detail

namespace {

using detail::WorkState;

struct Group {
  std::mutex init_mutex;
  std::atomic<bool> initialised{false};
  bool finalised = false;
  detail::Layout layout;
  double timeout_seconds = 600;

  // The communication thread and its queue.
  std::thread thread;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::shared_ptr<WorkState>> queue;
  bool stopping = false;
};

// Never destroyed: the at-exit finalize and a late abort may still need it.
Group& group() {
  static auto* g = new Group;
  return *g;
}

void run_job(WorkState& work) {
  work.started = Clock::now();
  std::exception_ptr error;
  try {
    work.job();
  } catch (...) {
    error = std::current_exception();
  }
  std::lock_guard lock(work.mutex);
  work.finished = Clock::now();
  work.error = error;
  work.done = true;
  work.job = nullptr;
  work.changed.notify_all();
}

void communication_loop() {
  Group& g = group();
  for (;;) {
    std::shared_ptr<WorkState> work;
    {
      std::unique_lock lock(g.mutex);
      g.changed.wait(lock, [&] { return g.stopping || !g.queue.empty(); });
      if (g.queue.empty()) return;  // stopping, and nothing left to run
      work = std::move(g.queue.front());
      g.queue.pop_front();
    }
    run_job(*work);
  }
}

// Queues `job` for the communication thread (or, in a world of one, where there
// is nobody to wait for, runs it now).
Work submit(std::string what, std::function<void()> job) {
  auto work = std::make_shared<WorkState>();
  work->what = std::move(what);
  work->job = std::move(job);
  Group& g = group();
  if (g.layout.world == 1) {
    run_job(*work);
  } else {
    std::lock_guard lock(g.mutex);
    g.queue.push_back(work);
    g.changed.notify_all();
  }
  return Work(work);
}

// What every rank must agree on for one collective, exchanged before it runs:
// kind, op or root, dtype, numel, rank and the first dims.
constexpr std::size_t kSignatureDims = 8;
constexpr std::size_t kSignatureSize = 5 + kSignatureDims;

std::vector<std::int64_t> signature_of(int kind, int op_or_root, const Tensor& t) {
  std::vector<std::int64_t> s{kind, op_or_root, static_cast<std::int64_t>(t.dtype()), t.numel(),
                              static_cast<std::int64_t>(t.dim())};
  for (std::size_t d = 0; d < kSignatureDims; ++d) s.push_back(d < t.shape().size() ? t.shape()[d] : -1);
  return s;
}

std::string describe_signature(const std::int64_t* s) {
  Shape shape;
  for (std::int64_t d = 0; d < std::min<std::int64_t>(s[4], kSignatureDims); ++d) shape.push_back(s[5 + d]);
  return fmt::format("{} {}{}", dtype_name(static_cast<DType>(s[2])), str(shape),
                     s[4] > static_cast<std::int64_t>(kSignatureDims) ? fmt::format(" (of {} dims)", s[4]) : "");
}

// On the communication thread: every rank's `mine`, in rank order.
std::vector<std::int64_t> gather_values(const std::vector<std::int64_t>& mine) {
  const auto world = static_cast<std::size_t>(group().layout.world);
  std::vector<std::int64_t> all(mine.size() * world);
  detail::transport_all_gather(mine.data(), all.data(), static_cast<std::int64_t>(mine.size() * sizeof(std::int64_t)));
  return all;
}

// On the communication thread: the same Error on every rank when a rank's
// signature differs from rank 0's.
// The collective a signature's kind stands for, and its op or root.
const char* kind_name(std::int64_t kind) {
  static const char* const names[] = {"all_reduce", "broadcast", "all_gather", "reduce_scatter"};
  return kind >= 0 && kind < 4 ? names[kind] : "?";
}

std::string role_of(const std::int64_t* s) {
  if (s[0] == 1) return fmt::format("root {}", s[1]);
  return fmt::format("op {}", reduce_op_name(static_cast<ReduceOp>(s[1])));
}

void agree_on_signature(const char* op, const std::vector<std::int64_t>& mine) {
  const std::vector<std::int64_t> all = gather_values(mine);
  const std::int64_t* first = all.data();
  for (int r = 1; r < group().layout.world; ++r) {
    const std::int64_t* other = all.data() + static_cast<std::size_t>(r) * kSignatureSize;
    if (std::equal(first, first + kSignatureSize, other)) continue;
    if (other[0] != first[0])
      fail<Error>(
          "{}: rank {} called {} where rank 0 called {}; every rank must make the same collective calls in "
          "the same order",
          op, r, kind_name(other[0]), kind_name(first[0]));
    if (describe_signature(other) != describe_signature(first))
      fail<Error>(
          "{}: rank {} passed {} but rank 0 passed {}; every rank must pass a tensor of the same shape and "
          "dtype",
          op, r, describe_signature(other), describe_signature(first));
    fail<Error>("{}: rank {} passed {} but rank 0 passed {}", op, r, role_of(other), role_of(first));
  }
}

void check_tensor(const char* op, const Tensor& t) {
  detail::require_initialized(op);
  if (!t.defined()) fail<ValueError>("{}: the tensor is undefined", op);
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64 && t.dtype() != DType::i64)
    fail<DTypeError>("{}: tensors of dtype {} are not supported (f32, f64 and i64 are)", op, dtype_name(t.dtype()));
  if (!t.is_contiguous())
    fail<ValueError>("{}: the tensor of shape {} (strides {}) is not contiguous; pass t.contiguous() and copy back", op,
                     str(t.shape()), str(t.strides()));
}

void* data_of(const Tensor& t) {
  t.impl()->storage->bump_version();  // a tensor saved for backward and then reduced into is caught
  return t.impl()->element_ptr();
}

std::string describe(const char* op, const Tensor& t) {
  return fmt::format("{} of {} {}", op, dtype_name(t.dtype()), str(t.shape()));
}

void finalize_at_exit() {
  if (group().initialised && !group().finalised) finalize();
}

[[noreturn]] void terminate_handler() {
  std::string message = "terminate called";
  if (const std::exception_ptr error = std::current_exception()) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message = fmt::format("uncaught exception: {}", e.what());
    } catch (...) {
      message = "uncaught exception of an unknown type";
    }
  }
  abort(message, 1);
}

double timeout_from_env(double given) {
  if (const char* env = std::getenv("XGRAD_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double seconds = std::strtod(env, &end);
    if (end == env || *end != '\0' || !(seconds > 0))
      fail<ValueError>("distributed::init: XGRAD_DIST_TIMEOUT must be a positive number of seconds, got \"{}\"", env);
    return seconds;
  }
  if (!(given > 0)) fail<ValueError>("distributed::init: timeout_seconds must be positive, got {}", given);
  return given;
}

}  // namespace

// ---- Work ------------------------------------------------------------------------

void Work::wait() const {
  if (!state_) fail<ValueError>("Work::wait: this Work was default-constructed (it stands for no collective)");
  std::unique_lock lock(state_->mutex);
  const auto timeout = std::chrono::duration<double>(group().timeout_seconds);
  if (!state_->changed.wait_for(lock, timeout, [&] { return state_->done; }))
    abort(
        fmt::format("{} did not complete within {} s: another rank has not joined it (did it fail, or make "
                    "different collective calls?)",
                    state_->what, group().timeout_seconds));
  if (state_->error) std::rethrow_exception(state_->error);
}

bool Work::is_completed() const {
  if (!state_) return false;
  std::lock_guard lock(state_->mutex);
  return state_->done;
}

std::chrono::steady_clock::time_point Work::started() const {
  wait();
  return state_->started;
}

std::chrono::steady_clock::time_point Work::finished() const {
  wait();
  return state_->finished;
}

// ---- the group -------------------------------------------------------------------

void init(InitOptions options) {
  Group& g = group();
  std::lock_guard lock(g.init_mutex);
  if (g.initialised) return;
  if (g.finalised) fail<Error>("distributed::init: the process group was finalized; it cannot be joined again");
  g.timeout_seconds = timeout_from_env(options.timeout_seconds);
  g.layout = detail::transport_init();
  if (g.layout.world > 1) g.thread = std::thread(communication_loop);
  if (options.share_threads && g.layout.local_world > 1 && !std::getenv("XGRAD_NUM_THREADS"))
    set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / g.layout.local_world));
  std::set_terminate(terminate_handler);
  std::atexit(finalize_at_exit);
  g.initialised = true;
}

bool is_initialized() { return group().initialised; }
bool mpi_available() { return detail::transport_has_mpi(); }

int rank() {
  detail::require_initialized("distributed::rank");
  return group().layout.rank;
}
int world_size() {
  detail::require_initialized("distributed::world_size");
  return group().layout.world;
}
int local_rank() {
  detail::require_initialized("distributed::local_rank");
  return group().layout.local_rank;
}
int local_world_size() {
  detail::require_initialized("distributed::local_world_size");
  return group().layout.local_world;
}

void finalize() {
  Group& g = group();
  std::lock_guard lock(g.init_mutex);
  if (!g.initialised) return;
  // Every rank must get here before MPI_Finalize (which would otherwise wait
  // forever for a rank still in a collective): a barrier that times out aborts.
  submit("finalize's barrier", [] { detail::transport_barrier(); }).wait();
  if (g.thread.joinable()) {
    {
      std::lock_guard queue_lock(g.mutex);
      g.stopping = true;
    }
    g.changed.notify_all();
    g.thread.join();
  }
  detail::transport_finalize();
  g.initialised = false;
  g.finalised = true;
}

void abort(const std::string& message, int exit_code) {
  const Group& g = group();
  if (g.initialised) {
    std::fprintf(stderr, "xgrad: rank %d of %d: %s; aborting the job\n", g.layout.rank, g.layout.world,
                 message.c_str());
  } else {
    std::fprintf(stderr, "xgrad: %s; aborting\n", message.c_str());
  }
  std::fflush(stderr);
  detail::transport_abort(exit_code);
}

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return "sum";
    case ReduceOp::avg:
      return "avg";
    case ReduceOp::max:
      return "max";
    case ReduceOp::min:
      return "min";
  }
  return "?";
}

// ---- collectives -----------------------------------------------------------------

Work all_reduce_async(Tensor& tensor, ReduceOp op) {
  check_tensor("all_reduce", tensor);
  if (op == ReduceOp::avg && !is_floating(tensor.dtype()))
    fail<DTypeError>(
        "all_reduce: avg of an {} tensor is not defined (the mean of integers is not one); use sum and "
        "divide in floating point",
        dtype_name(tensor.dtype()));
  void* data = data_of(tensor);
  auto signature = signature_of(0, static_cast<int>(op), tensor);
  return submit(describe("all_reduce", tensor), [tensor, data, op, signature] {
    agree_on_signature("all_reduce", signature);
    detail::transport_all_reduce(data, tensor.numel(), tensor.dtype(), op);
  });
}

void all_reduce(Tensor& tensor, ReduceOp op) { all_reduce_async(tensor, op).wait(); }

void broadcast(Tensor& tensor, int root) {
  check_tensor("broadcast", tensor);
  if (root < 0 || root >= group().layout.world)
    fail<ValueError>("broadcast: root must be a rank in [0, {}), got {}", group().layout.world, root);
  void* data = data_of(tensor);
  auto signature = signature_of(1, root, tensor);
  const auto bytes = static_cast<std::int64_t>(tensor.numel() * element_size(tensor.dtype()));
  submit(describe("broadcast", tensor), [tensor, data, root, signature, bytes] {
    agree_on_signature("broadcast", signature);
    detail::transport_broadcast(data, bytes, root);
  }).wait();
}

std::vector<Tensor> all_gather(const Tensor& tensor) {
  check_tensor("all_gather", tensor);
  const int world = group().layout.world;
  Shape shape = tensor.shape();
  shape.insert(shape.begin(), world);
  Tensor gathered = empty(shape, {.dtype = tensor.dtype()});
  void* out = data_of(gathered);
  const void* in = tensor.impl()->element_ptr();
  auto signature = signature_of(2, 0, tensor);
  const auto bytes = static_cast<std::int64_t>(tensor.numel() * element_size(tensor.dtype()));
  submit(describe("all_gather", tensor), [tensor, gathered, in, out, signature, bytes] {
    agree_on_signature("all_gather", signature);
    detail::transport_all_gather(in, out, bytes);
  }).wait();
  std::vector<Tensor> parts;
  for (int r = 0; r < world; ++r) parts.push_back(gathered.select(0, r));
  return parts;
}

Tensor reduce_scatter(const Tensor& tensor, ReduceOp op) {
  check_tensor("reduce_scatter", tensor);
  const int world = group().layout.world;
  if (tensor.dim() == 0 || tensor.shape()[0] % world != 0)
    fail<ShapeError>("reduce_scatter: dim 0 of the tensor (shape {}) must split into {} equal parts",
                     str(tensor.shape()), world);
  if (op == ReduceOp::avg && !is_floating(tensor.dtype()))
    fail<DTypeError>("reduce_scatter: avg of an {} tensor is not defined; use sum", dtype_name(tensor.dtype()));
  Tensor scratch = tensor.detach().clone();
  void* data = data_of(scratch);
  auto signature = signature_of(3, static_cast<int>(op), tensor);
  submit(describe("reduce_scatter", tensor), [scratch, data, op, signature] {
    agree_on_signature("reduce_scatter", signature);
    detail::transport_reduce_scatter(data, scratch.numel(), scratch.dtype(), op);
  }).wait();
  const std::int64_t part = tensor.shape()[0] / world;
  return scratch.narrow(0, part * group().layout.rank, part).clone();
}

void barrier() {
  detail::require_initialized("barrier");
  submit("barrier", [] { detail::transport_barrier(); }).wait();
}

// ---- for DistributedDataParallel -------------------------------------------------

namespace detail {

void require_initialized(const char* op) {
  if (!group().initialised)
    fail<Error>("{}: the process group is not initialized{}", op,
                group().finalised ? " (finalize() was called)" : "; call xgrad::distributed::init() first");
}

Work all_reduce_agreed(const Tensor& tensor, ReduceOp op, std::string what) {
  void* data = data_of(tensor);
  return submit(std::move(what),
                [tensor, data, op] { transport_all_reduce(data, tensor.numel(), tensor.dtype(), op); });
}

void broadcast_agreed(const std::vector<Tensor>& tensors, int root, std::string what) {
  if (group().layout.world == 1) return;
  std::size_t bytes = 0;
  for (const Tensor& t : tensors) bytes += static_cast<std::size_t>(t.numel()) * element_size(t.dtype());
  auto packed = std::make_shared<std::vector<std::byte>>(bytes);
  std::size_t at = 0;
  for (const Tensor& t : tensors) {
    const Tensor c = t.contiguous();
    const std::size_t n = static_cast<std::size_t>(c.numel()) * element_size(c.dtype());
    std::memcpy(packed->data() + at, c.impl()->element_ptr(), n);
    at += n;
  }
  submit(std::move(what), [packed, root] {
    transport_broadcast(packed->data(), static_cast<std::int64_t>(packed->size()), root);
  }).wait();
  at = 0;
  NoGradGuard no_grad;
  for (const Tensor& t : tensors) {
    const std::size_t n = static_cast<std::size_t>(t.numel()) * element_size(t.dtype());
    if (t.is_contiguous()) {
      std::memcpy(data_of(t), packed->data() + at, n);
    } else {
      Tensor received = empty(t.shape(), {.dtype = t.dtype()});
      std::memcpy(received.impl()->element_ptr(), packed->data() + at, n);
      t.detach().copy_(received);
    }
    at += n;
  }
}

void check_same_on_all_ranks(const char* op, const std::string& what, const std::vector<std::int64_t>& values) {
  require_initialized(op);
  std::vector<std::int64_t> mine{static_cast<std::int64_t>(values.size())};
  mine.insert(mine.end(), values.begin(), values.end());
  // Lengths first, so that the values can be gathered at one size.
  submit(fmt::format("{}: checking {}", op, what), [op, what, mine] {
    const std::vector<std::int64_t> sizes = gather_values({mine[0]});
    for (std::size_t r = 1; r < sizes.size(); ++r)
      if (sizes[r] != sizes[0]) fail<Error>("{}: rank {} has {} {} but rank 0 has {}", op, r, sizes[r], what, sizes[0]);
    const std::vector<std::int64_t> all = gather_values(mine);
    for (std::size_t r = 1; r < sizes.size(); ++r)
      for (std::size_t i = 0; i < mine.size(); ++i)
        if (all[r * mine.size() + i] != all[i])
          fail<Error>("{}: {} differ between rank {} and rank 0 (entry {}: {} vs {})", op, what, r, i - 1,
                      all[r * mine.size() + i], all[i]);
  }).wait();
}

}  // namespace detail

}  // namespace xgrad::distributed
