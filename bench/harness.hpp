#pragma once
// A small benchmark harness shared by the bench programs: command-line options,
// timing (warm-up, repetitions, median on steady_clock), peak resident memory,
// and a report that prints a Markdown table and writes the rows as JSON.
//
// Every program takes the same options (bench/torch_suite.py too, so that
// bench/compare can drive both sides alike):
//   --threads 1,2      thread counts to measure at
//   --reps N           timed repetitions per row (the median is reported)
//   --filter TEXT      only the rows whose name contains TEXT
//   --list             print the selected rows ("name<TAB>shape") and exit
//   --json out.json    also write the rows there

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli.hpp"  // examples/cli.hpp: the command-line rules of every program

namespace xgrad::bench {

struct Options {
  std::vector<int> threads{1, 2};  // --threads 1,2
  int reps = 5;                    // --reps N: timed repetitions (the median is reported)
  std::string filter;              // --filter TEXT: rows whose name contains TEXT
  bool list = false;               // --list: print the selected rows instead of running them
  std::string json;                // --json out.json: also write the rows there

  bool selects(std::string_view name) const { return name.find(filter) != std::string_view::npos; }
};

/// Parses the options every bench program takes (default_reps: the program's
/// default for --reps): prints the help and exits 0 on --help, exits 2 on a
/// mistake (examples/cli.hpp).
inline Options parse_options(int argc, char** argv, std::string description, int default_reps = 5) {
  Options options;
  options.reps = default_reps;
  cli::App app{std::move(description)};
  app.add_option("--threads", options.threads, "thread counts to measure at, comma-separated")
      ->delimiter(',')
      ->check(cli::positive);
  app.add_option("--reps", options.reps, "timed repetitions per row (the median is reported)")->check(cli::positive);
  app.add_option("--filter", options.filter, "only the rows whose name contains TEXT");
  app.add_flag("--list", options.list, "print the selected rows (name<TAB>shape) and exit");
  app.add_option("--json", options.json, "also write the rows to this file");
  cli::parse_or_exit(app, argc, argv);
  return options;
}

/// A row's timed repetitions stop at about this many seconds (after at least
/// one): calls of a second or more (a VGG training step on one thread) vary
/// little, and the whole suite has to stay within minutes.
constexpr double kMaxRowSeconds = 5.0;

/// Median seconds of one call of fn over `reps` timed repetitions (fewer when
/// they would take longer than kMaxRowSeconds), after `warm_ups` (at least one)
/// untimed calls. A repetition runs fn enough times to last min_seconds (judged
/// by the last warm-up call), so that short calls are not lost in the clock's
/// resolution. bench/torch_suite.py times the same way.
template <class Fn>
double median_seconds(Fn&& fn, int reps, double min_seconds = 0.02, int warm_ups = 1) {
  using Clock = std::chrono::steady_clock;
  const auto seconds_of = [&](std::int64_t calls) {
    const auto start = Clock::now();
    for (std::int64_t i = 0; i < calls; ++i) fn();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  double warm_up = 0;
  for (int i = 0; i < std::max(warm_ups, 1); ++i) warm_up = seconds_of(1);
  const auto calls = static_cast<std::int64_t>(std::max(1.0, min_seconds / std::max(warm_up, 1e-9)));
  const int timed = std::clamp(static_cast<int>(kMaxRowSeconds / std::max(warm_up, 1e-9)), 1, reps);
  std::vector<double> times;
  for (int r = 0; r < timed; ++r) times.push_back(seconds_of(calls) / static_cast<double>(calls));
  std::nth_element(times.begin(), times.begin() + timed / 2, times.end());
  return times[static_cast<std::size_t>(timed / 2)];
}

// ---- peak resident memory ----------------------------------------------------------

/// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); nullopt when absent.
inline std::optional<double> status_kib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1));
  return std::nullopt;
}

/// Peak resident memory of what runs after construction: the constructor resets
/// the kernel's high-water mark (writes "5" to /proc/self/clear_refs) and
/// records VmRSS; peak_mib() is then VmHWM minus that baseline, in MiB, so it
/// counts what was allocated and touched since (model, activations, gradients,
/// optimiser state, allocator caches) and not the program's libraries. The
/// high-water mark is per process: measure one row per process.
class PeakMemory {
 public:
  PeakMemory() {
    std::ofstream clear_refs("/proc/self/clear_refs");
    clear_refs << "5" << std::flush;
    reset_ = static_cast<bool>(clear_refs);
    baseline_kib_ = status_kib("VmRSS");
  }
  /// nullopt when the high-water mark could not be reset or read.
  std::optional<double> peak_mib() const {
    const std::optional<double> hwm_kib = status_kib("VmHWM");
    if (!reset_ || !hwm_kib || !baseline_kib_) return std::nullopt;
    return (*hwm_kib - *baseline_kib_) / 1024;
  }

 private:
  bool reset_ = false;
  std::optional<double> baseline_kib_;
};

// ---- rows and the report -------------------------------------------------------------

/// One measured row. flops and items are per call; 0 means not counted.
struct Row {
  Row(std::string name_, std::string shape_, int threads_, double seconds_, double flops_, double items_)
      : name(std::move(name_)),
        shape(std::move(shape_)),
        threads(threads_),
        seconds(seconds_),
        flops(flops_),
        items(items_) {}

  std::string name;   // what ran, e.g. "gemm f32 square"
  std::string shape;  // its size, e.g. "1024x1024x1024"
  int threads;
  double seconds;  // median time of one call
  double flops;    // floating-point operations of one call
  double items;    // items (e.g. images) of one call
  // Model rows only:
  std::optional<double> peak_mib;      // peak resident memory of the row (see PeakMemory)
  std::optional<double> loss;          // a loss the row computed (finite, checked)
  std::optional<std::int64_t> params;  // parameters of the model
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
    const bool memory = std::any_of(rows_.begin(), rows_.end(), [](const Row& row) { return row.peak_mib; });
    std::printf("| benchmark | shape | threads | time (ms) | GFLOP/s | %% of peak | items/s |%s\n",
                memory ? " peak MiB |" : "");
    std::printf("|---|---|---:|---:|---:|---:|---:|%s\n", memory ? "---:|" : "");
    for (const Row& row : rows_) {
      std::printf("| %s | %s | %d | %.3f | %s | %s | %s |", row.name.c_str(), row.shape.c_str(), row.threads,
                  row.seconds * 1e3, number(gflops(row), "%.1f").c_str(), number(percent_of_peak(row), "%.1f").c_str(),
                  number(row.items / row.seconds, "%.1f").c_str());
      if (memory) std::printf(" %s |", number(row.peak_mib.value_or(0), "%.1f").c_str());
      std::printf("\n");
    }
  }

  /// {"program", "simd", "peak_gflops": {threads: GFLOP/s}, "rows": [...]}
  void write_json(const std::string& path, const std::string& program, const std::string& simd) const {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const Row& row : rows_) {
      nlohmann::ordered_json entry = {{"name", row.name},
                                      {"shape", row.shape},
                                      {"threads", row.threads},
                                      {"seconds", row.seconds},
                                      {"flops", row.flops},
                                      {"gflops", gflops(row)},
                                      {"percent_of_peak", percent_of_peak(row)},
                                      {"items", row.items},
                                      {"items_per_second", row.items / row.seconds}};
      if (row.peak_mib) entry["peak_mib"] = *row.peak_mib;
      if (row.loss) entry["loss"] = *row.loss;
      if (row.params) entry["params"] = *row.params;
      rows.push_back(std::move(entry));
    }
    nlohmann::ordered_json peaks = nlohmann::ordered_json::object();
    for (const auto& [threads, gflops_at] : peak_gflops_) peaks[std::to_string(threads)] = gflops_at;
    const nlohmann::ordered_json document = {
        {"program", program}, {"simd", simd}, {"peak_gflops", peaks}, {"rows", rows}};
    std::ofstream out(path);
    out << document.dump(2) << '\n';
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

// ---- the rows a program offers ----------------------------------------------------------

/// A row a program can measure: its name and shape (what --list prints) and how
/// to measure it at every selected thread count.
struct Benchmark {
  std::string name;
  std::string shape;
  std::function<void(Report&, const Options&)> run;
};

/// Prints the selected benchmarks for --list: one "name<TAB>shape" line each.
inline void list_benchmarks(const std::vector<Benchmark>& benchmarks, const Options& options) {
  for (const Benchmark& b : benchmarks)
    if (options.selects(b.name)) std::printf("%s\t%s\n", b.name.c_str(), b.shape.c_str());
}

/// Runs the selected benchmarks in order.
inline void run_benchmarks(const std::vector<Benchmark>& benchmarks, const Options& options, Report& report) {
  for (const Benchmark& b : benchmarks)
    if (options.selects(b.name)) b.run(report, options);
}

}  // namespace xgrad::bench
