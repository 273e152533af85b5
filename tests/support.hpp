#pragma once
// Shared helpers for the Catch2 tests.

#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "xgrad/xgrad.hpp"

namespace xgrad::testing {

/// Asserts that fn's gradients pass gradcheck, printing the report (which names
/// the worst element) when they do not.
inline void require_gradcheck(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                              GradcheckOptions options = {}) {
  const GradcheckReport report = gradcheck(fn, inputs, options);
  INFO(report.message);
  REQUIRE(report.ok);
}

/// require_gradcheck with the forward-mode check, the same in fast mode (which
/// must agree), then gradgradcheck with the same options: how the op tests check
/// first order, forward mode and second order over one grid of shapes and options.
inline void require_gradchecks(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                               GradcheckOptions options = {}) {
  options.check_forward_ad = true;
  require_gradcheck(fn, inputs, options);
  GradcheckOptions fast = options;
  fast.fast_mode = true;
  require_gradcheck(fn, inputs, fast);
  const GradcheckReport second = gradgradcheck(fn, inputs, options);
  INFO(second.message);
  REQUIRE(second.ok);
}

/// Restores the thread count that a test changes.
struct ThreadCountGuard {
  int saved = get_num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

/// Largest |a - b| / (1 + |b|) over two equally long value lists.
inline double max_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / (1 + std::abs(b[i])));
  return worst;
}

/// A float64 leaf of `shape` with values drawn from randn (seeded by the caller).
inline Tensor leaf(const Shape& shape) { return randn(shape, {.dtype = f64, .requires_grad = true}); }

/// A float64 tensor from values (1-D unless a shape is given).
inline Tensor f64_tensor(std::vector<double> v, Shape shape = {}, bool requires_grad = false) {
  return from_vector(v, shape, {.dtype = f64, .requires_grad = requires_grad});
}

/// Values of t, for comparisons with Approx.
inline std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// Asserts t's values equal `expected` within `tol`, relative or absolute.
inline void require_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-12) {
  const std::vector<double> got = values(t);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(got[i] == Approx(expected[i]).epsilon(tol).margin(tol));
  }
}

/// Asserts that `expr` throws E whose message contains every one of `parts`
/// (string literals or strings that outlive the macro; not `.c_str()` of a temporary).
/// Test names must not contain ';' (ctest's test discovery would split them).
#define XGRAD_REQUIRE_THROWS_WITH(expr, E, ...)                             \
  do {                                                                      \
    bool thrown_ = false;                                                   \
    try {                                                                   \
      (void)(expr);                                                         \
    } catch (const E& e_) {                                                 \
      thrown_ = true;                                                       \
      const std::string message_ = e_.what();                               \
      INFO("message: " << message_);                                        \
      for (const char* part_ : {__VA_ARGS__}) {                             \
        INFO("expected to contain: " << part_);                             \
        REQUIRE(message_.find(part_) != std::string::npos);                 \
      }                                                                     \
    }                                                                       \
    REQUIRE(thrown_);                                                       \
  } while (false)

/// The whole file at `path` as bytes, and `bytes` written to `path` (replacing it).
inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// A directory of this test process's own, `prefix` and the process id under
/// the system's temp directory, made on first use and removed when the process
/// ends: ctest runs test cases as parallel processes, and a case that checks a
/// directory for leftovers must not see another case's files.
inline const std::filesystem::path& process_scratch_dir(const std::string& prefix) {
  struct Directory {
    std::filesystem::path path;
    explicit Directory(const std::string& name)
        : path(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(getpid()))) {
      std::filesystem::create_directories(path);
    }
    ~Directory() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Directory directory(prefix);  // one prefix per test binary
  return directory.path;
}

}  // namespace xgrad::testing
