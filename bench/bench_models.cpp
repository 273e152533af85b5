// Whole-model benchmarks: a full training step (zero_grad, forward,
// cross-entropy, backward, SGD with momentum 0.9) and inference (evaluation
// mode, no grad) of LeNet-5, CIFAR ResNet-20, ResNet-18, VGG-11 and AlexNet on
// random images and labels from a fixed seed, in images/s, with the peak
// resident memory of each row. bench/torch_suite.py measures the same rows in
// PyTorch.
//
//   bench_models [--threads 1,2] [--reps N] [--filter TEXT] [--list] [--json out.json]
//
// GFLOP/s counts 2 x the model's forward multiply-accumulates (the layers'
// Module::macs, as nn::summary adds them) for inference and 3 x that for a
// training step (forward, backward-data, backward-weight). The high-water mark
// of resident memory is per process: run one row per process (with --filter
// and one thread count, as bench/compare does) for a meaningful "peak MiB".

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "kernels/simd.hpp"
#include "peak.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/models.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops/loss.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/parallel.hpp"
#include "xgrad/random.hpp"

namespace {

using namespace xgrad::bench;
using xgrad::Tensor;
using ModulePtr = std::shared_ptr<xgrad::nn::Module>;

struct ModelSpec {
  const char* name;
  std::int64_t batch, channels, size, classes;
  ModulePtr (*make)();

  // "batch 64, 1x28x28, 10 classes"; torch_suite.py builds the same strings.
  std::string shape() const {
    return "batch " + std::to_string(batch) + ", " + std::to_string(channels) + "x" + std::to_string(size) + "x" +
           std::to_string(size) + ", " + std::to_string(classes) + " classes";
  }
};

const ModelSpec kModels[] = {
    {"lenet5", 64, 1, 28, 10, []() -> ModulePtr { return xgrad::models::lenet5(); }},
    {"resnet20", 64, 3, 32, 10, []() -> ModulePtr { return xgrad::models::resnet20(); }},
    {"resnet18", 8, 3, 224, 1000, []() -> ModulePtr { return xgrad::models::resnet18(); }},
    {"vgg11", 4, 3, 224, 1000, []() -> ModulePtr { return xgrad::models::vgg11(); }},
    {"alexnet", 16, 3, 224, 1000, []() -> ModulePtr { return xgrad::models::alexnet(); }},
};

// ---- what every row needs ------------------------------------------------------------------

// The random batch a row runs on: images from the seeded default generator,
// labels uniform over the classes.
struct Batch {
  Tensor images, labels;
};

Batch random_batch(const ModelSpec& spec) {
  const Tensor images = xgrad::randn({spec.batch, spec.channels, spec.size, spec.size});
  std::mt19937_64 rng(0);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(spec.batch));
  for (std::int64_t& label : labels) label = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(spec.classes));
  return {images, xgrad::from_vector(labels, {spec.batch})};
}

std::int64_t parameter_count(const xgrad::nn::Module& model) {
  std::int64_t count = 0;
  for (const Tensor& p : model.parameters()) count += p.numel();
  return count;
}

// Multiply-accumulates of one forward of one image: the sum of every leaf
// module's Module::macs over a forward in evaluation mode without grad.
double forward_macs_per_image(xgrad::nn::Module& model, const ModelSpec& spec) {
  double macs = 0;
  std::vector<std::pair<ModulePtr, int>> hooks;
  std::set<const xgrad::nn::Module*> seen;  // a module registered under two names is hooked once
  for (auto& [name, module] : model.named_modules())
    if (module->named_children().empty() && seen.insert(module.get()).second)
      hooks.emplace_back(module, module->register_forward_hook([&macs](xgrad::nn::Module& m, const Tensor& in,
                                                                      const Tensor& out) {
        macs += static_cast<double>(m.macs(in, out));
      }));
  model.eval();
  {
    xgrad::NoGradGuard no_grad;
    model(xgrad::zeros({1, spec.channels, spec.size, spec.size}));
  }
  for (auto& [module, id] : hooks) module->remove_forward_hook(id);
  return macs;
}

// The correctness guard: a row whose loss is not finite measures nothing.
void require_finite(double loss, const std::string& row, const char* when) {
  if (!std::isfinite(loss)) throw std::runtime_error(row + ": the loss " + when + " is " + std::to_string(loss));
}

// ---- the rows -----------------------------------------------------------------------------------

Row training_row(const ModelSpec& spec, const std::string& name, int threads, int reps) {
  xgrad::set_num_threads(threads);
  const PeakMemory memory;
  xgrad::manual_seed(0);
  const ModulePtr model = spec.make();
  const Batch batch = random_batch(spec);
  xgrad::optim::SGD optimizer(model->parameters(), {.lr = 0.01, .momentum = 0.9});
  model->train();
  double loss = 0;
  const auto step = [&] {
    optimizer.zero_grad();
    const Tensor batch_loss = xgrad::cross_entropy((*model)(batch.images), batch.labels);
    batch_loss.backward();
    optimizer.step();
    loss = batch_loss.item();
  };
  step();  // the first warm-up step, checked before anything is timed
  require_finite(loss, name, "of the first step");
  const double seconds = median_seconds(step, reps, 0.02, /*warm_ups=*/1);
  require_finite(loss, name, "of the last step");
  Row row(name, spec.shape(), threads, seconds, 0, static_cast<double>(spec.batch));
  row.peak_mib = memory.peak_mib();
  row.flops = 3 * 2 * forward_macs_per_image(*model, spec) * row.items;
  row.loss = loss;
  row.params = parameter_count(*model);
  return row;
}

Row inference_row(const ModelSpec& spec, const std::string& name, int threads, int reps) {
  xgrad::set_num_threads(threads);
  const PeakMemory memory;
  xgrad::manual_seed(0);
  const ModulePtr model = spec.make();
  const Batch batch = random_batch(spec);
  model->eval();
  const xgrad::NoGradGuard no_grad;
  Tensor logits;
  const auto forward = [&] { logits = (*model)(batch.images); };
  forward();  // the first warm-up call, checked before anything is timed
  const double loss = xgrad::cross_entropy(logits, batch.labels).item();
  require_finite(loss, name, "of the first forward");
  const double seconds = median_seconds(forward, reps, 0.02, /*warm_ups=*/1);
  Row row(name, spec.shape(), threads, seconds, 0, static_cast<double>(spec.batch));
  row.peak_mib = memory.peak_mib();
  row.flops = 2 * forward_macs_per_image(*model, spec) * row.items;
  row.loss = loss;
  row.params = parameter_count(*model);
  return row;
}

// "train resnet18", "infer resnet18"; each at every thread count.
std::vector<Benchmark> all_benchmarks() {
  std::vector<Benchmark> benchmarks;
  for (const auto& [prefix, measure] : {std::pair{"train ", &training_row}, std::pair{"infer ", &inference_row}})
    for (const ModelSpec& spec : kModels) {
      const std::string name = prefix + std::string(spec.name);
      benchmarks.push_back({name, spec.shape(), [&spec, name, measure](Report& report, const Options& options) {
                              for (int threads : options.threads)
                                report.add(measure(spec, name, threads, options.reps));
                            }});
    }
  return benchmarks;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse_options(
        argc, argv, "Training steps and inference of whole models, in images/s, with peak memory.", /*default_reps=*/3);
    const std::vector<Benchmark> benchmarks = all_benchmarks();
    if (options.list) {
      list_benchmarks(benchmarks, options);
      return 0;
    }
    Report report;
    measure_peaks(report, options);
    run_benchmarks(benchmarks, options, report);
    const char* simd = xgrad::kernels::simd_name(xgrad::kernels::simd_level());
    std::printf("xgrad kernels run with %s\n\n", simd);
    report.print_markdown();
    if (!options.json.empty()) report.write_json(options.json, "bench_models", simd);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
