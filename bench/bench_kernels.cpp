// Kernel benchmarks: the machine's fp32 FMA peak, kernels::gemm<float> and the
// three convolution passes on ResNet-18's layers at batch 8. GEMM on
// square products and on the im2col products of ResNet-18's convolutions, at
// each thread count, as GFLOP/s and % of the peak at that thread count.
//
//   bench_kernels [--threads 1,2] [--reps N] [--json out.json]

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "fma_peak_simd.hpp"
#include "harness.hpp"
#include "kernels/gemm.hpp"
#include "kernels/im2col.hpp"
#include "kernels/simd.hpp"
#include "util/parallel.hpp"
#include "xgrad/parallel.hpp"

namespace {

using namespace xgrad::bench;

// One FMA loop per thread, all at once.
template <class Arch>
void measure_fma_peak(Report& report, const char* name, int threads, int reps) {
  constexpr std::int64_t iterations = 1 << 20;
  const auto count = static_cast<std::size_t>(threads);
  std::vector<float> results(count);
  std::vector<double> flops(count);
  const double seconds = median_seconds(
      [&] {
        xgrad::detail::parallel_for(0, threads, 1, [&](std::int64_t lo, std::int64_t hi) {
          for (auto t = static_cast<std::size_t>(lo); t < static_cast<std::size_t>(hi); ++t)
            flops[t] = FmaPeakLoop{}(Arch{}, iterations, 0.999f, &results[t]);
        });
      },
      reps);
  Row row{name, "12 chains", threads, seconds, std::accumulate(flops.begin(), flops.end(), 0.0), 0};
  report.set_peak(threads, std::max(report.peak(threads), row.flops / row.seconds * 1e-9));
  report.add(row);
}

void measure_peaks(Report& report, int threads, int reps) {
  if (__builtin_cpu_supports("avx512f")) measure_fma_peak<xsimd::avx512f>(report, "fp32 FMA peak avx512", threads, reps);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    measure_fma_peak<xsimd::fma3<xsimd::avx2>>(report, "fp32 FMA peak avx2", threads, reps);
}

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

std::vector<float> random_matrix(std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> m(static_cast<std::size_t>(rows * cols));
  for (float& x : m) x = dist(rng);
  return m;
}

void measure_gemm(Report& report, const GemmShape& shape, const std::vector<int>& thread_counts, int reps) {
  std::mt19937 rng(0);
  const std::vector<float> a = random_matrix(shape.M, shape.K, rng), b = random_matrix(shape.K, shape.N, rng);
  std::vector<float> c(static_cast<std::size_t>(shape.M * shape.N));
  const std::string dims = std::to_string(shape.M) + "x" + std::to_string(shape.N) + "x" + std::to_string(shape.K);
  for (int threads : thread_counts) {
    xgrad::set_num_threads(threads);
    const double seconds = median_seconds(
        [&] {
          xgrad::kernels::gemm<float>(false, false, shape.M, shape.N, shape.K, 1.0f, a.data(), shape.K, b.data(),
                                      shape.N, 0.0f, c.data(), shape.N);
        },
        reps);
    report.add({shape.name, dims, threads, seconds, 2.0 * shape.M * shape.N * shape.K, 0});
  }
}

// A 2-D convolution layer of ResNet-18 at batch 8 (square input, padding keeps
// the size at stride 1 and halves it at stride 2).
struct ConvShape {
  const char* name;
  std::int64_t in_channels, out_channels, size, kernel, stride;
};

const ConvShape kConvShapes[] = {
    {"conv 3->64 k7 s2 @224", 3, 64, 224, 7, 2},     {"conv 64->64 k3 @56", 64, 64, 56, 3, 1},
    {"conv 128->128 k3 @28", 128, 128, 28, 3, 1},    {"conv 256->256 k3 @14", 256, 256, 14, 3, 1},
    {"conv 512->512 k3 @7", 512, 512, 7, 3, 1},      {"conv 64->256 k1 @56", 64, 256, 56, 1, 1},
};

constexpr std::int64_t kConvBatch = 8;

xgrad::kernels::ConvGeometry conv_geometry(const ConvShape& shape) {
  xgrad::kernels::ConvGeometry g;
  g.batch = kConvBatch;
  g.x_channels = shape.in_channels;
  g.y_channels = shape.out_channels;
  const std::int64_t pad = shape.kernel / 2;
  const std::int64_t out = (shape.size + 2 * pad - shape.kernel) / shape.stride + 1;
  for (int d = 1; d < 3; ++d) {  // (H, W); D stays 1
    g.in[d] = shape.size;
    g.out[d] = out;
    g.kernel[d] = shape.kernel;
    g.stride[d] = shape.stride;
    g.pad[d] = pad;
  }
  return g;
}

// Forward, backward-data and backward-weight of one layer: each pass does the
// same 2 * MACs floating-point operations.
void measure_conv(Report& report, const ConvShape& shape, const std::vector<int>& thread_counts, int reps) {
  using xgrad::kernels::conv_backward_data;
  using xgrad::kernels::conv_backward_weight;
  using xgrad::kernels::conv_forward;
  const xgrad::kernels::ConvGeometry g = conv_geometry(shape);
  const std::int64_t positions = g.out[1] * g.out[2];
  std::mt19937 rng(0);
  const std::vector<float> x = random_matrix(kConvBatch * shape.in_channels, shape.size * shape.size, rng);
  const std::vector<float> w = random_matrix(shape.out_channels, shape.in_channels * shape.kernel * shape.kernel, rng);
  const std::vector<float> dy = random_matrix(kConvBatch * shape.out_channels, positions, rng);
  std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
  const double flops = 2.0 * static_cast<double>(kConvBatch * positions * shape.out_channels * shape.in_channels *
                                                 shape.kernel * shape.kernel);
  const std::string dims = "batch " + std::to_string(kConvBatch);
  for (int threads : thread_counts) {
    xgrad::set_num_threads(threads);
    const double forward = median_seconds([&] { conv_forward<float>(g, x.data(), w.data(), nullptr, y.data()); }, reps);
    report.add({std::string(shape.name) + " forward", dims, threads, forward, flops, kConvBatch});
    const double data =
        median_seconds([&] { conv_backward_data<float>(g, dy.data(), w.data(), nullptr, dx.data()); }, reps);
    report.add({std::string(shape.name) + " backward-data", dims, threads, data, flops, kConvBatch});
    const double weight = median_seconds([&] { conv_backward_weight<float>(g, dy.data(), x.data(), dw.data()); }, reps);
    report.add({std::string(shape.name) + " backward-weight", dims, threads, weight, flops, kConvBatch});
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse_options(argc, argv);
    Report report;
    for (int threads : options.threads) {
      xgrad::set_num_threads(threads);
      measure_peaks(report, threads, options.reps);
    }
    for (const GemmShape& shape : kGemmShapes) measure_gemm(report, shape, options.threads, options.reps);
    for (const ConvShape& shape : kConvShapes) measure_conv(report, shape, options.threads, options.reps);
    std::printf("kernels::gemm<float> runs with %s\n\n", xgrad::kernels::simd_name(xgrad::kernels::simd_level()));
    report.print_markdown();
    if (!options.json.empty()) report.write_json(options.json);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
