// Kernel benchmarks: the machine's fp32 FMA peak, then kernels::gemm<float> on
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
    std::printf("kernels::gemm<float> runs with %s\n\n", xgrad::kernels::simd_name(xgrad::kernels::simd_level()));
    report.print_markdown();
    if (!options.json.empty()) report.write_json(options.json);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
