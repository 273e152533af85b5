// Kernel benchmarks: the machine's fp32 FMA peak, kernels::gemm<float> on
// square products and on the im2col products of ResNet-18's convolutions, and
// the three convolution passes (forward, backward-data, backward-weight) on the
// layers of ResNet-18 (ImageNet, 224x224) and of the CIFAR ResNets (32x32) at
// batch 8 and 32; at each thread count, as GFLOP/s and % of the peak at that
// thread count. bench/torch_suite.py measures the same rows in PyTorch.
//
//   bench_kernels [--threads 1,2] [--reps N] [--filter TEXT] [--list] [--json out.json]

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "harness.hpp"
#include "kernels/gemm.hpp"
#include "kernels/im2col.hpp"
#include "kernels/simd.hpp"
#include "peak.hpp"
#include "xgrad/parallel.hpp"

namespace {

using namespace xgrad::bench;

// Uniform values in [-1, 1) from a fixed seed (a xorshift generator: filling
// the batch-32 inputs with std::mt19937 would take longer than timing them).
std::vector<float> random_values(std::int64_t count, std::uint64_t seed) {
  std::vector<float> values(static_cast<std::size_t>(count));
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& v : values) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    v = static_cast<float>(state >> 40) * 0x1p-23f - 1.0f;
  }
  return values;
}

// Times fn at every thread count of the options and adds a row for each.
template <class Fn>
void measure(Report& report, const Options& options, const Benchmark& b, double flops, double items, Fn&& fn) {
  for (int threads : options.threads) {
    xgrad::set_num_threads(threads);
    report.add(Row(b.name, b.shape, threads, median_seconds(fn, options.reps), flops, items));
  }
}

// ---- GEMM ---------------------------------------------------------------------------------

struct GemmShape {
  const char* name;
  std::int64_t M, N, K;
};

// ResNet-18 at batch 8, 224 x 224: M = C_out, N = batch * H_out * W_out,
// K = C_in * kernel area (conv1 is 7 x 7 on 3 channels, then 3 x 3 stages).
const GemmShape kGemmShapes[] = {
    {"gemm f32 square", 256, 256, 256},
    {"gemm f32 square", 512, 512, 512},
    {"gemm f32 square", 1024, 1024, 1024},
    {"gemm f32 square", 2048, 2048, 2048},
    {"gemm f32 resnet18 conv1", 64, 8 * 112 * 112, 3 * 49},
    {"gemm f32 resnet18 layer1", 64, 8 * 56 * 56, 64 * 9},
    {"gemm f32 resnet18 layer2", 128, 8 * 28 * 28, 128 * 9},
    {"gemm f32 resnet18 layer3", 256, 8 * 14 * 14, 256 * 9},
    {"gemm f32 resnet18 layer4", 512, 8 * 7 * 7, 512 * 9},
};

// C [M, N] = A [M, K] B [K, N], all row-major.
Benchmark gemm_benchmark(const GemmShape& s) {
  Benchmark b{s.name, std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K), {}};
  b.run = [s, b](Report& report, const Options& options) {
    const std::vector<float> a = random_values(s.M * s.K, 1), bm = random_values(s.K * s.N, 2);
    std::vector<float> c(static_cast<std::size_t>(s.M * s.N));
    measure(report, options, b, 2.0 * static_cast<double>(s.M * s.N * s.K), 0, [&] {
      xgrad::kernels::gemm<float>(false, false, s.M, s.N, s.K, 1.0f, a.data(), s.K, bm.data(), s.N, 0.0f, c.data(),
                                  s.N);
    });
  };
  return b;
}

// ---- convolution ------------------------------------------------------------------------------

// A 2-D convolution layer on a square input, without bias; padding kernel / 2
// keeps the size at stride 1 and halves it at stride 2.
struct ConvLayer {
  const char* family;  // "r18": ResNet-18 on 224x224; "cifar": the CIFAR ResNets on 32x32
  std::int64_t in_channels, out_channels, size, kernel, stride;

  std::int64_t pad() const { return kernel / 2; }
  std::int64_t out_size() const { return (size + 2 * pad() - kernel) / stride + 1; }
};

// Every distinct layer shape of the two networks: the stems, the 3x3 layers of
// each stage, the stride-2 3x3 layers that open a stage and (ResNet-18 only;
// the CIFAR ResNets' shortcuts have no parameters) the 1x1 stride-2 projections.
const ConvLayer kConvLayers[] = {
    {"r18", 3, 64, 224, 7, 2},     {"r18", 64, 64, 56, 3, 1},     {"r18", 64, 128, 56, 3, 2},
    {"r18", 64, 128, 56, 1, 2},    {"r18", 128, 128, 28, 3, 1},   {"r18", 128, 256, 28, 3, 2},
    {"r18", 128, 256, 28, 1, 2},   {"r18", 256, 256, 14, 3, 1},   {"r18", 256, 512, 14, 3, 2},
    {"r18", 256, 512, 14, 1, 2},   {"r18", 512, 512, 7, 3, 1},    {"cifar", 3, 16, 32, 3, 1},
    {"cifar", 16, 16, 32, 3, 1},   {"cifar", 16, 32, 32, 3, 2},   {"cifar", 32, 32, 16, 3, 1},
    {"cifar", 32, 64, 16, 3, 2},   {"cifar", 64, 64, 8, 3, 1},
};

const std::int64_t kConvBatches[] = {8, 32};

enum class ConvPass { forward, backward_data, backward_weight };
const char* pass_name(ConvPass pass) {
  switch (pass) {
    case ConvPass::forward: return "forward";
    case ConvPass::backward_data: return "backward-data";
    case ConvPass::backward_weight: return "backward-weight";
  }
  return "";
}

// "conv r18 64->128 k3 s2 @56 forward"; torch_suite.py builds the same names.
std::string conv_name(const ConvLayer& l, ConvPass pass) {
  return std::string("conv ") + l.family + " " + std::to_string(l.in_channels) + "->" +
         std::to_string(l.out_channels) + " k" + std::to_string(l.kernel) + " s" + std::to_string(l.stride) + " @" +
         std::to_string(l.size) + " " + pass_name(pass);
}

xgrad::kernels::ConvGeometry conv_geometry(const ConvLayer& l, std::int64_t batch) {
  xgrad::kernels::ConvGeometry g;
  g.batch = batch;
  g.x_channels = l.in_channels;
  g.y_channels = l.out_channels;
  for (int d = 1; d < 3; ++d) {  // (H, W); D stays 1
    g.in[d] = l.size;
    g.out[d] = l.out_size();
    g.kernel[d] = l.kernel;
    g.stride[d] = l.stride;
    g.pad[d] = l.pad();
  }
  return g;
}

// One pass of one layer at one batch size: each pass does the same 2 * MACs
// floating-point operations.
Benchmark conv_benchmark(const ConvLayer& l, std::int64_t batch, ConvPass pass) {
  Benchmark b{conv_name(l, pass), "batch " + std::to_string(batch) + ", pad " + std::to_string(l.pad()), {}};
  b.run = [l, batch, pass, b](Report& report, const Options& options) {
    const xgrad::kernels::ConvGeometry g = conv_geometry(l, batch);
    const std::int64_t x_size = batch * l.in_channels * l.size * l.size;
    const std::int64_t y_size = batch * l.out_channels * l.out_size() * l.out_size();
    const std::int64_t w_size = l.out_channels * l.in_channels * l.kernel * l.kernel;
    const double flops = 2.0 * static_cast<double>(y_size * l.in_channels * l.kernel * l.kernel);
    const std::vector<float> w = random_values(w_size, 2);
    const auto items = static_cast<double>(batch);
    if (pass == ConvPass::forward) {
      const std::vector<float> x = random_values(x_size, 1);
      std::vector<float> y(static_cast<std::size_t>(y_size));
      measure(report, options, b, flops, items,
              [&] { xgrad::kernels::conv_forward<float>(g, x.data(), w.data(), nullptr, y.data()); });
    } else if (pass == ConvPass::backward_data) {
      const std::vector<float> dy = random_values(y_size, 3);
      std::vector<float> dx(static_cast<std::size_t>(x_size));
      measure(report, options, b, flops, items,
              [&] { xgrad::kernels::conv_backward_data<float>(g, dy.data(), w.data(), nullptr, dx.data()); });
    } else {
      const std::vector<float> x = random_values(x_size, 1), dy = random_values(y_size, 3);
      std::vector<float> dw(static_cast<std::size_t>(w_size));
      measure(report, options, b, flops, items,
              [&] { xgrad::kernels::conv_backward_weight<float>(g, dy.data(), x.data(), dw.data()); });
    }
  };
  return b;
}

std::vector<Benchmark> all_benchmarks() {
  std::vector<Benchmark> benchmarks;
  for (const GemmShape& shape : kGemmShapes) benchmarks.push_back(gemm_benchmark(shape));
  for (const ConvLayer& layer : kConvLayers)
    for (std::int64_t batch : kConvBatches)
      for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_weight})
        benchmarks.push_back(conv_benchmark(layer, batch, pass));
  return benchmarks;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options =
        parse_options(argc, argv, "The fp32 FMA peak, GEMM and convolution passes, in GFLOP/s and % of the peak.");
    const std::vector<Benchmark> benchmarks = all_benchmarks();
    if (options.list) {
      for (const std::string& name : fma_peak_row_names())
        if (options.selects(name)) std::printf("%s\t12 chains\n", name.c_str());
      list_benchmarks(benchmarks, options);
      return 0;
    }
    Report report;
    measure_peaks(report, options);
    run_benchmarks(benchmarks, options, report);
    const char* simd = xgrad::kernels::simd_name(xgrad::kernels::simd_level());
    std::printf("kernels::gemm<float> runs with %s\n\n", simd);
    report.print_markdown();
    if (!options.json.empty()) report.write_json(options.json, "bench_kernels", simd);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
