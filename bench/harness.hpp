#pragma once
// A small benchmark harness shared by the bench programs: command-line options,
// timing (warm-up, repetitions, median on steady_clock), and a report that prints
// a Markdown table and writes the rows as JSON.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace xgrad::bench {

struct Options {
  std::vector<int> threads{1, 2};  // --threads 1,2
  int reps = 5;                    // --reps N: timed repetitions (the median is reported)
  std::string json;                // --json out.json: also write the rows there
};

/// Parses the options every bench program takes; throws std::invalid_argument
/// (with a usage line) on anything else.
inline Options parse_options(int argc, char** argv) {
  const std::string usage = std::string("usage: ") + argv[0] + " [--threads 1,2] [--reps N] [--json out.json]";
  const auto positive_int = [&](std::string_view text) {
    int value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 1) throw std::invalid_argument(usage);
    return value;
  };
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(usage);
    const std::string_view value = argv[++i];
    if (flag == "--threads") {
      options.threads.clear();
      for (std::string_view rest = value;;) {
        const std::size_t comma = rest.find(',');
        options.threads.push_back(positive_int(rest.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (flag == "--reps") {
      options.reps = positive_int(value);
    } else if (flag == "--json") {
      options.json = value;
    } else {
      throw std::invalid_argument(usage);
    }
  }
  return options;
}

/// Median seconds of one call of fn over `reps` timed repetitions, after one
/// warm-up call. A repetition runs fn enough times to last min_seconds, so that
/// short calls are not lost in the clock's resolution.
template <class Fn>
double median_seconds(Fn&& fn, int reps, double min_seconds = 0.02) {
  using Clock = std::chrono::steady_clock;
  const auto seconds_of = [&](std::int64_t calls) {
    const auto start = Clock::now();
    for (std::int64_t i = 0; i < calls; ++i) fn();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  const double warm_up = seconds_of(1);
  const auto calls = static_cast<std::int64_t>(std::max(1.0, min_seconds / std::max(warm_up, 1e-9)));
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) times.push_back(seconds_of(calls) / static_cast<double>(calls));
  std::nth_element(times.begin(), times.begin() + reps / 2, times.end());
  return times[static_cast<std::size_t>(reps / 2)];
}

/// One measured row. flops and items are per call; 0 means not counted.
struct Row {
  std::string name;   // what ran, e.g. "gemm f32"
  std::string shape;  // its size, e.g. "1024x1024x1024"
  int threads = 1;
  double seconds = 0;  // median time of one call
  double flops = 0;    // floating-point operations of one call
  double items = 0;    // items (e.g. images) of one call
};

/// Collects rows, printing each as it comes (to stderr) and all of them at the
/// end as a Markdown table; "% of peak" uses the fp32 peak set for a thread count.
class Report {
 public:
  void set_peak(int threads, double gflops) { peak_gflops_[threads] = gflops; }
  /// The peak set for `threads`, 0 when none is.
  double peak(int threads) const {
    const auto found = peak_gflops_.find(threads);
    return found == peak_gflops_.end() ? 0 : found->second;
  }

  void add(Row row) {
    std::fprintf(stderr, "%s %s, %d thread(s): %.3f ms\n", row.name.c_str(), row.shape.c_str(), row.threads,
                 row.seconds * 1e3);
    rows_.push_back(std::move(row));
  }

  void print_markdown() const {
    std::printf("| benchmark | shape | threads | time (ms) | GFLOP/s | %% of peak | items/s |\n");
    std::printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (const Row& row : rows_) {
      std::printf("| %s | %s | %d | %.3f | %s | %s | %s |\n", row.name.c_str(), row.shape.c_str(), row.threads,
                  row.seconds * 1e3, number(gflops(row), "%.1f").c_str(), number(percent_of_peak(row), "%.1f").c_str(),
                  number(row.items / row.seconds, "%.1f").c_str());
    }
  }

  void write_json(const std::string& path) const {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const Row& row : rows_)
      rows.push_back({{"name", row.name},
                      {"shape", row.shape},
                      {"threads", row.threads},
                      {"seconds", row.seconds},
                      {"flops", row.flops},
                      {"gflops", gflops(row)},
                      {"percent_of_peak", percent_of_peak(row)},
                      {"items", row.items},
                      {"items_per_second", row.items / row.seconds}});
    std::ofstream out(path);
    out << rows.dump(2) << '\n';
    if (!out) throw std::runtime_error("cannot write " + path);
  }

 private:
  static double gflops(const Row& row) { return row.flops / row.seconds * 1e-9; }

  double percent_of_peak(const Row& row) const {
    const double peak_gflops = peak(row.threads);
    return peak_gflops == 0 ? 0 : 100 * gflops(row) / peak_gflops;
  }

  // Blank for 0 (not counted).
  static std::string number(double value, const char* format) {
    if (value == 0) return "";
    char text[32];
    std::snprintf(text, sizeof text, format, value);
    return text;
  }

  std::vector<Row> rows_;
  std::map<int, double> peak_gflops_;
};

}  // namespace xgrad::bench
