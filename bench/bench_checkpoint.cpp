// Gradient checkpointing on ResNet-18 (batch 8, 3x224x224, SGD with momentum):
// the training step with and without per-stage checkpoints (the stem and head
// run plainly, layer1..layer4 each under autograd::checkpoint), its median time
// and the process's peak resident memory above its start. Run one mode per
// process, so that the peaks do not mix:
//
//   ./build/bench/bench_checkpoint --mode plain
//   ./build/bench/bench_checkpoint --mode checkpoint   # per stage
//   ./build/bench/bench_checkpoint --mode blocks       # the stem and every block

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "harness.hpp"
#include "xgrad/xgrad.hpp"

using xgrad::Tensor;

int main(int argc, char** argv) {
  std::string mode = "plain";
  int reps = 5, threads = 2;
  cli::App app{"A ResNet-18 training step with and without gradient checkpoints: time and peak memory."};
  app.add_option("--mode", mode, "plain, checkpoint (per stage) or blocks (the stem and every block)")
      ->check(CLI::IsMember({"plain", "checkpoint", "blocks"}));
  app.add_option("--reps", reps, "timed repetitions (the median is reported)")->check(cli::positive);
  app.add_option("--threads", threads, "threads to run with")->check(cli::positive);
  cli::parse_or_exit(app, argc, argv);
  xgrad::set_num_threads(threads);
  const xgrad::bench::PeakMemory memory;
  xgrad::manual_seed(0);
  auto net = xgrad::models::resnet18();
  const Tensor images = xgrad::randn({8, 3, 224, 224});
  std::vector<std::int64_t> classes;
  for (std::int64_t i = 0; i < 8; ++i) classes.push_back(i * 117 % 1000);
  const Tensor labels = xgrad::from_vector(classes);
  xgrad::optim::SGD optimizer(net->parameters(), {.lr = 0.01, .momentum = 0.9});
  net->train();
  using xgrad::autograd::checkpoint;
  const auto stem = [&](const std::vector<Tensor>& in) {
    return (*net->maxpool)((*net->relu)((*net->bn1)((*net->conv1)(in[0]))));
  };
  const auto forward = [&](const Tensor& x) {
    if (mode == "plain") return net->forward(x);
    Tensor h;
    if (mode == "checkpoint") {  // per stage: layer1..layer4
      h = stem({x});
      for (const auto& stage : net->layers)
        h = checkpoint([&stage](const std::vector<Tensor>& in) { return (*stage)(in[0]); }, {h});
    } else {  // the stem and every residual block
      h = checkpoint(stem, {x});
      for (const auto& stage : net->layers)
        for (std::size_t b = 0; b < stage->size(); ++b)
          h = checkpoint([&stage, b](const std::vector<Tensor>& in) { return (*(*stage)[b])(in[0]); }, {h});
    }
    return (*net->fc)(xgrad::flatten((*net->avgpool)(h), 1));
  };
  double loss = 0;
  const auto step = [&] {
    optimizer.zero_grad();
    const Tensor l = xgrad::cross_entropy(forward(images), labels);
    l.backward();
    optimizer.step();
    loss = l.item();
    if (std::getenv("XGRAD_BENCH_VERBOSE")) std::cout << "  loss " << loss << "\n";
  };
  step();  // warm-up, then the peak of live tensors over one step
  xgrad::reset_peak_memory_stats();
  step();
  const double live_mib = static_cast<double>(xgrad::memory_stats().peak_allocated_bytes) / (1 << 20);
  const double seconds = xgrad::bench::median_seconds(step, reps, 0.02, 1);
  const auto peak = memory.peak_mib();
  std::cout << "resnet18 b8 224 " << mode << ": step " << seconds * 1e3 << " ms (median of " << reps
            << "), peak of live tensors " << static_cast<int>(live_mib) << " MiB, peak resident "
            << (peak ? std::to_string(static_cast<int>(*peak)) : std::string("?")) << " MiB, loss "
            << loss << ", threads " << threads << "\n";
  return 0;
}
