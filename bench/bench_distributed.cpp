// Measurements for docs/distributed.md.
//
//   mpiexec -n 2 ./build/bench/bench_distributed allreduce [--reps N]
//       xgrad's ring all-reduce (f32, sum) for 1 KiB .. 256 MiB, and Open MPI's
//       MPI_Allreduce on the same buffers: median seconds, algorithm bandwidth
//       (bytes / time) and bus bandwidth (2 (N - 1) / N * bytes / time).
//   [mpiexec -n N] ./build/bench/bench_distributed step --model resnet20 --batch 64 [--steps N] [--threads T]
//       training steps of the model on random data, the job's batch split among the
//       processes (DistributedDataParallel when N > 1): median step time, images/s,
//       and from DDP's timestamps the time from the first gradient to the end of
//       backward, the all-reduce time and the part of it hidden behind backward.
//   ./build/bench/bench_distributed backward --model resnet18 --batch 2 --size 224
//       one process: forward and backward times per step and the gradient bytes,
//       the inputs of the scaling model.

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include <xgrad/xgrad.hpp>

#include "cli.hpp"

namespace dist = xgrad::distributed;
using xgrad::Tensor;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool main_rank() { return dist::rank() == 0; }

void allreduce_sweep(int reps) {
  const int world = dist::world_size();
  if (main_rank())
    std::printf("%10s %12s %12s %12s %12s %12s\n", "bytes", "xgrad s", "xgrad GB/s", "bus GB/s", "MPI s", "MPI GB/s");
  for (std::int64_t bytes = 1024; bytes <= (std::int64_t{256} << 20); bytes *= 4) {
    const std::int64_t n = bytes / 4;
    Tensor t = xgrad::ones({n});
    const int r = bytes >= (std::int64_t{64} << 20) ? std::max(3, reps / 4) : reps;
    std::vector<double> ours, theirs;
    for (int i = 0; i < r; ++i) {
      dist::barrier();
      auto start = Clock::now();
      dist::all_reduce(t, dist::ReduceOp::sum);
      ours.push_back(since(start));
      dist::barrier();
      start = Clock::now();
      MPI_Allreduce(MPI_IN_PLACE, t.mutable_data<float>(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      theirs.push_back(since(start));
    }
    const double a = median(ours), b = median(theirs);
    if (main_rank())
      std::printf("%10lld %12.3g %12.3f %12.3f %12.3g %12.3f\n", static_cast<long long>(bytes), a, bytes / a / 1e9,
                  2.0 * (world - 1) / world * bytes / a / 1e9, b, bytes / b / 1e9);
  }
}

std::shared_ptr<xgrad::nn::Module> make_model(const std::string& name) {
  if (name == "lenet5") return xgrad::models::lenet5({.num_classes = 10, .in_channels = 1});
  if (name == "resnet20") return xgrad::models::resnet20({.num_classes = 10});
  if (name == "resnet18") return xgrad::models::resnet18();
  if (name == "resnet50") return xgrad::models::resnet50();
  throw xgrad::ValueError("unknown --model " + name + " (lenet5, resnet20, resnet18, resnet50)");
}

xgrad::Shape input_shape(const std::string& model, std::int64_t batch, std::int64_t size) {
  if (model == "lenet5") return {batch, 1, 28, 28};
  if (model == "resnet20") return {batch, 3, 32, 32};
  return {batch, 3, size, size};
}

void training_steps(const std::string& name, std::int64_t batch, std::int64_t size, int steps) {
  const int world = dist::world_size();
  if (batch % world != 0) throw xgrad::ValueError("--batch must split evenly among the processes");
  xgrad::manual_seed(1);
  auto inner = make_model(name);
  std::shared_ptr<dist::DistributedDataParallel> ddp;
  std::shared_ptr<xgrad::nn::Module> model = inner;
  if (world > 1) model = ddp = std::make_shared<dist::DistributedDataParallel>(inner);
  xgrad::optim::SGD sgd(model->parameters(), {.lr = 0.01, .momentum = 0.9});
  const Tensor x = xgrad::randn(input_shape(name, batch / world, size));
  const Tensor y = xgrad::zeros({batch / world}, {.dtype = xgrad::i64});
  std::vector<double> times, to_end, reduce, hidden;
  for (int step = 0; step < steps + 1; ++step) {  // the first warms up
    dist::barrier();
    const auto start = Clock::now();
    sgd.zero_grad();
    xgrad::cross_entropy((*model)(x), y).backward();
    sgd.step();
    const double t = since(start);
    if (step == 0) continue;
    times.push_back(t);
    if (ddp) {
      const dist::ReductionTimeline timeline = ddp->last_timeline();
      double total = 0;
      for (const auto& b : timeline.buckets) total += b.finished - b.started;
      to_end.push_back(timeline.backward_end);
      reduce.push_back(total);
      hidden.push_back(timeline.hidden_fraction());
    }
  }
  const double step_time = median(times);
  if (main_rank()) {
    std::printf("%s batch %lld (%d x %lld), %d threads per process: step %.4f s, %.1f images/s", name.c_str(),
                static_cast<long long>(batch), world, static_cast<long long>(batch / world), xgrad::get_num_threads(),
                step_time, batch / step_time);
    if (ddp) {
      std::printf("; buckets of");
      for (const dist::BucketInfo& b : ddp->buckets()) std::printf(" %.2f", b.numel * 4 / 1e6);
      std::printf(" MB; first gradient to end of backward %.4f s, all-reduce %.4f s, hidden %.0f %%",
                  median(to_end), median(reduce), 100 * median(hidden));
    }
    std::printf("\n");
  }
}

void backward_time(const std::string& name, std::int64_t batch, std::int64_t size, int steps) {
  xgrad::manual_seed(1);
  auto model = make_model(name);
  const Tensor x = xgrad::randn(input_shape(name, batch, size));
  const Tensor y = xgrad::zeros({batch}, {.dtype = xgrad::i64});
  std::vector<double> forward, backward;
  for (int step = 0; step < steps + 1; ++step) {
    model->zero_grad();
    auto start = Clock::now();
    const Tensor loss = xgrad::cross_entropy((*model)(x), y);
    const double f = since(start);
    start = Clock::now();
    loss.backward();
    const double b = since(start);
    if (step == 0) continue;
    forward.push_back(f);
    backward.push_back(b);
  }
  std::int64_t bytes = 0;
  for (const Tensor& p : model->parameters()) bytes += p.numel() * 4;
  std::printf("%s batch %lld at %lld px, %d threads: forward %.4f s, backward %.4f s, gradients %.1f MB\n",
              name.c_str(), static_cast<long long>(batch), static_cast<long long>(size), xgrad::get_num_threads(),
              median(forward), median(backward), bytes / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode, model = "resnet20";
  int reps = 20, steps = 5, threads = 0;
  std::int64_t batch = 64, size = 224;
  cli::App app{"Measurements of xgrad::distributed (docs/distributed.md)."};
  app.add_option("mode", mode, "allreduce, step or backward")
      ->required()
      ->check(CLI::IsMember({"allreduce", "step", "backward"}));
  app.add_option("--reps", reps, "repetitions per all-reduce size")->check(cli::positive);
  app.add_option("--model", model, "lenet5, resnet20, resnet18 or resnet50");
  app.add_option("--batch", batch, "the job's batch (split among the processes)")->check(cli::positive);
  app.add_option("--size", size, "image size of resnet18 / resnet50")->check(cli::positive);
  app.add_option("--steps", steps, "timed steps (after one warm-up)")->check(cli::positive);
  cli::add_threads(app, threads);
  cli::parse_or_exit(app, argc, argv);
  try {
    dist::init();
    if (threads > 0) xgrad::set_num_threads(threads);
    if (mode == "allreduce") allreduce_sweep(reps);
    if (mode == "step") training_steps(model, batch, size, steps);
    if (mode == "backward") backward_time(model, batch, size, steps);
  } catch (const xgrad::Error& e) {
    dist::abort(std::string("bench_distributed: ") + e.what());
  }
  return 0;
}
