#pragma once
// The machine's measured fp32 FMA peak at a thread count, for the "% of peak"
// of every row: one FmaPeakLoop per thread, all at once, per instruction set
// the CPU has (AVX-512, AVX2+FMA); the best of them is the peak.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "fma_peak_simd.hpp"
#include "harness.hpp"
#include "kernels/simd.hpp"
#include "util/parallel.hpp"
#include "xgrad/parallel.hpp"

namespace xgrad::bench {

template <class Arch>
Row fma_peak_row(const char* name, int threads, int reps) {
  constexpr std::int64_t iterations = 1 << 20;
  const auto count = static_cast<std::size_t>(threads);
  std::vector<float> results(count);
  std::vector<double> flops(count);
  xgrad::set_num_threads(threads);
  const double seconds = median_seconds(
      [&] {
        xgrad::detail::parallel_for(0, threads, 1, [&](std::int64_t lo, std::int64_t hi) {
          for (auto t = static_cast<std::size_t>(lo); t < static_cast<std::size_t>(hi); ++t)
            flops[t] = FmaPeakLoop{}(Arch{}, iterations, 0.999f, &results[t]);
        });
      },
      reps);
  return Row(name, "12 chains", threads, seconds, std::accumulate(flops.begin(), flops.end(), 0.0), 0);
}

/// One row per instruction set the CPU has, at `threads`.
inline std::vector<Row> fma_peak_rows(int threads, int reps) {
  std::vector<Row> rows;
  if (__builtin_cpu_supports("avx512f")) rows.push_back(fma_peak_row<xsimd::avx512f>("fp32 FMA peak avx512", threads, reps));
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    rows.push_back(fma_peak_row<xsimd::fma3<xsimd::avx2>>("fp32 FMA peak avx2", threads, reps));
  return rows;
}

/// Names of the rows fma_peak_rows makes on this CPU (for --list).
inline std::vector<std::string> fma_peak_row_names() {
  std::vector<std::string> names;
  if (__builtin_cpu_supports("avx512f")) names.push_back("fp32 FMA peak avx512");
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) names.push_back("fp32 FMA peak avx2");
  return names;
}

/// Measures the peak at every thread count of `options` and sets it in the
/// report; adds the rows that options select (the others only feed "% of peak").
inline void measure_peaks(Report& report, const Options& options) {
  for (int threads : options.threads)
    for (Row& row : fma_peak_rows(threads, options.reps)) {
      report.set_peak(threads, std::max(report.peak(threads), row.flops / row.seconds * 1e-9));
      if (options.selects(row.name)) report.add(std::move(row));
    }
}

}  // namespace xgrad::bench
