// kernels::gemm against kernels::gemm_reference (the plain triple loop), on every
// instruction-set path of the float kernel and on the double path: every
// transpose combination, alpha and beta, sizes around the register tile and the
// cache blocks, padded and zero leading dimensions, 1 and 2 threads.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/gemm_simd.hpp"
#include "support.hpp"
#include "util/parallel.hpp"

using namespace xgrad;
using kernels::SimdLevel;

namespace {

// Restores the thread count and the instruction-set cap a test changed.
struct RestoreSettings {
  int threads = get_num_threads();
  SimdLevel cap = kernels::set_simd_cap(SimdLevel::avx512);
  ~RestoreSettings() {
    set_num_threads(threads);
    kernels::set_simd_cap(cap);
  }
};

const char* name(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512: return "avx512";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::sse2: break;
  }
  return "sse2";
}

constexpr SimdLevel kAllLevels[] = {SimdLevel::avx512, SimdLevel::avx2, SimdLevel::sse2};

// One product: C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C,
// each matrix stored with `pad` extra elements per row, or leading dimension 0
// for A and B when `broadcast` (every stored row the same).
struct Product {
  bool trans_a = false, trans_b = false;
  std::int64_t M = 1, N = 1, K = 1;
  double alpha = 1, beta = 0;
  std::int64_t pad = 0;
  bool broadcast = false;
};

template <class T>
std::vector<T> random_values(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<T> dist(-1, 1);
  std::vector<T> v(n);
  for (T& x : v) x = dist(rng);
  return v;
}

template <class T>
std::vector<double> absolute(const std::vector<T>& v) {
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = std::abs(double(v[i]));
  return out;
}

// Runs gemm and gemm_reference on the same inputs; beta == 0 starts C as NaN.
// Returns the largest |gemm - reference| over the rounding error both may make:
// each sums K + 1 terms, so within (K + 2) eps of the sum of their magnitudes.
template <class T>
double scaled_error(const Product& p, std::mt19937& rng) {
  const std::int64_t a_rows = p.trans_a ? p.K : p.M, a_cols = p.trans_a ? p.M : p.K;
  const std::int64_t b_rows = p.trans_b ? p.N : p.K, b_cols = p.trans_b ? p.K : p.N;
  const std::int64_t lda = p.broadcast ? 0 : a_cols + p.pad, ldb = p.broadcast ? 0 : b_cols + p.pad;
  const std::int64_t ldc = p.N + p.pad;
  const auto storage = [&](std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    return static_cast<std::size_t>(ld == 0 ? cols : rows * ld);
  };
  const std::vector<T> a = random_values<T>(storage(a_rows, a_cols, lda), rng);
  const std::vector<T> b = random_values<T>(storage(b_rows, b_cols, ldb), rng);
  std::vector<T> expected = p.beta == 0 ? std::vector<T>(storage(p.M, p.N, ldc), std::numeric_limits<T>::quiet_NaN())
                                        : random_values<T>(storage(p.M, p.N, ldc), rng);
  std::vector<T> got = expected;
  std::vector<double> magnitude = p.beta == 0 ? std::vector<double>(expected.size()) : absolute(expected);
  kernels::gemm_reference<double>(p.trans_a, p.trans_b, p.M, p.N, p.K, std::abs(p.alpha), absolute(a).data(), lda,
                                  absolute(b).data(), ldb, std::abs(p.beta), magnitude.data(), ldc);
  const T alpha = static_cast<T>(p.alpha), beta = static_cast<T>(p.beta);
  kernels::gemm_reference<T>(p.trans_a, p.trans_b, p.M, p.N, p.K, alpha, a.data(), lda, b.data(), ldb, beta,
                             expected.data(), ldc);
  kernels::gemm<T>(p.trans_a, p.trans_b, p.M, p.N, p.K, alpha, a.data(), lda, b.data(), ldb, beta, got.data(), ldc);
  const double eps = std::numeric_limits<T>::epsilon() * static_cast<double>(p.K + 2);
  double worst = 0;
  for (std::int64_t i = 0; i < p.M; ++i)
    for (std::int64_t j = 0; j < p.N; ++j) {
      const auto at = static_cast<std::size_t>(i * ldc + j);
      const double error = std::abs(double(got[at]) - double(expected[at])) / (eps * magnitude[at] + 1e-300);
      if (!(error <= worst)) worst = std::isnan(error) ? std::numeric_limits<double>::infinity() : error;
    }
  for (std::int64_t i = 0; i < p.M; ++i)  // the padding of C is never written
    for (std::int64_t j = p.N; j < ldc; ++j) {
      const auto at = static_cast<std::size_t>(i * ldc + j);
      if (!(got[at] == expected[at] || (std::isnan(got[at]) && std::isnan(expected[at]))))
        worst = std::numeric_limits<double>::infinity();
    }
  return worst;
}

template <class T>
void require_matches_reference(const Product& p, std::mt19937& rng) {
  INFO("trans_a " << p.trans_a << ", trans_b " << p.trans_b << ", M " << p.M << ", N " << p.N << ", K " << p.K
                  << ", alpha " << p.alpha << ", beta " << p.beta << ", pad " << p.pad << ", broadcast "
                  << p.broadcast << ", threads " << get_num_threads() << ", simd "
                  << name(kernels::simd_level()));
  REQUIRE(scaled_error<T>(p, rng) <= 1.0);
}

// The sizes a path is cut up by: its register tile and k block.
struct Tiling {
  std::int64_t rows, cols, depth;
};

Tiling tiling_of(SimdLevel level) {
  const kernels::SgemmKernel& kernel = kernels::sgemm_kernel_for(level);
  return {kernel.tile_rows, kernel.tile_cols, kernel.depth};
}

// M, N and K swept one at a time around the register tile (0 .. 3 tiles + 1)
// and the k block (one block - 1 .. two blocks + 1).
template <class T>
void sweep_tile_edges(const Tiling& tiling, std::mt19937& rng) {
  const std::int64_t M_max = 3 * tiling.rows + 1, N_max = 3 * tiling.cols + 1;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      for (std::int64_t M = 0; M <= M_max; ++M)
        for (std::int64_t N : {std::int64_t{1}, tiling.cols + 1, N_max})
          require_matches_reference<T>({ta, tb, M, N, 9}, rng);
      for (std::int64_t N = 0; N <= N_max; ++N)
        for (std::int64_t M : {std::int64_t{1}, tiling.rows + 1, M_max})
          require_matches_reference<T>({ta, tb, M, N, 9}, rng);
      for (std::int64_t K : {std::int64_t{0}, std::int64_t{1}, std::int64_t{2}, std::int64_t{7}, tiling.depth - 1,
                             tiling.depth, tiling.depth + 1, 2 * tiling.depth + 1})
        require_matches_reference<T>({ta, tb, tiling.rows + 3, tiling.cols + 5, K, -0.5, 0.75, 3}, rng);
    }
}

// Products big enough to be threaded and blocked: several blocks of B columns
// (N = 1100), C split by rows as well (few columns), k blocks, and M below one
// tile; with alpha, beta, padded and zero leading dimensions.
template <class T>
void sweep_blocks(std::mt19937& rng) {
  const Product shapes[] = {
      {false, false, 29, 600, 385}, {false, true, 70, 131, 513}, {true, false, 130, 45, 769},
      {true, true, 3, 1100, 1300},  {false, false, 64, 64, 64},  {true, false, 200, 33, 100},
  };
  const std::pair<double, double> scales[] = {{1.0, 0.0}, {-0.5, 1.0}, {1.5, 2.5}};
  for (Product p : shapes)
    for (auto [alpha, beta] : scales) {
      p.alpha = alpha;
      p.beta = beta;
      p.pad = beta == 2.5 ? 5 : 0;
      require_matches_reference<T>(p, rng);
    }
  for (bool ta : {false, true})
    for (bool tb : {false, true}) require_matches_reference<T>({ta, tb, 45, 170, 700, 1.5, 1, 0, true}, rng);
}

}  // namespace

TEST_CASE("gemm<float> matches the reference on every instruction set", "[kernels][gemm]") {
  RestoreSettings restore;
  std::mt19937 rng(1);
  for (SimdLevel level : kAllLevels) {
    kernels::set_simd_cap(level);
    INFO("simd cap " << name(level));
    CHECK(kernels::simd_level() <= level);
    set_num_threads(1);
    sweep_tile_edges<float>(tiling_of(level), rng);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      sweep_blocks<float>(rng);
    }
  }
}

TEST_CASE("the row-pointer and column-pointer B packers match pack_b on every instruction set", "[kernels][gemm]") {
  RestoreSettings restore;
  std::mt19937 rng(3);
  for (SimdLevel cap : kAllLevels) {
    kernels::set_simd_cap(cap);
    const kernels::SgemmKernel& kernel = kernels::sgemm_kernel_for(kernels::simd_level());
    INFO("simd " << name(kernels::simd_level()));
    for (std::int64_t kc : {1, 7, 8, 17}) {
      for (std::int64_t cols : {std::int64_t{1}, kernel.tile_cols - 1, 2 * kernel.tile_cols + 5}) {
        INFO("kc " << kc << ", cols " << cols);
        // B (kc x cols, row stride cols + 3) and its transpose Bt (cols x kc, row stride kc + 2).
        const std::int64_t ldb = cols + 3, ldt = kc + 2;
        const std::vector<float> b = random_values<float>(static_cast<std::size_t>(kc * ldb), rng);
        std::vector<float> bt(static_cast<std::size_t>(cols * ldt));
        for (std::int64_t k = 0; k < kc; ++k)
          for (std::int64_t j = 0; j < cols; ++j) bt[static_cast<std::size_t>(j * ldt + k)] = b[k * ldb + j];
        const std::size_t size = static_cast<std::size_t>(kc * (cols + kernel.tile_cols));
        std::vector<float> want(size, -1.0f), rows_packed(size, -1.0f), columns_packed(size, -1.0f);
        kernel.pack_b({b.data(), ldb, 1}, kc, cols, want.data());
        // Rows by pointer, in two calls split inside a panel; then the zeros past cols.
        std::vector<const float*> rows, columns;
        for (std::int64_t k = 0; k < kc; ++k) rows.push_back(b.data() + k * ldb);
        const std::int64_t split = cols / 2;
        kernel.pack_b_rows(rows.data(), kc, 0, split, rows_packed.data());
        for (const float*& row : rows) row += split;
        kernel.pack_b_rows(rows.data(), kc, split, cols - split, rows_packed.data());
        const std::int64_t tail = cols % kernel.tile_cols, last = cols / kernel.tile_cols * kc * kernel.tile_cols;
        for (std::int64_t k = 0; tail != 0 && k < kc; ++k)
          for (std::int64_t j = tail; j < kernel.tile_cols; ++j)
            rows_packed[static_cast<std::size_t>(last + k * kernel.tile_cols + j)] = 0.0f;
        // Columns by pointer, in two calls splitting k.
        for (std::int64_t j = 0; j < cols; ++j) columns.push_back(bt.data() + j * ldt);
        const std::int64_t k_split = kc / 2;
        kernel.pack_b_columns(columns.data(), cols, kc, 0, k_split, columns_packed.data());
        for (const float*& column : columns) column += k_split;
        kernel.pack_b_columns(columns.data(), cols, kc, k_split, kc - k_split, columns_packed.data());
        const std::size_t packed =
            static_cast<std::size_t>(kc * ((cols + kernel.tile_cols - 1) / kernel.tile_cols) * kernel.tile_cols);
        CHECK(std::equal(want.begin(), want.begin() + packed, rows_packed.begin()));
        CHECK(std::equal(want.begin(), want.begin() + packed, columns_packed.begin()));
      }
    }
  }
}

TEST_CASE("gemm_packing_b matches the reference with a packer over a stored B", "[kernels][gemm]") {
  RestoreSettings restore;
  std::mt19937 rng(4);
  const std::int64_t M = 37, N = 301, K = 450;  // edge tiles, two k blocks
  const std::vector<float> a = random_values<float>(static_cast<std::size_t>(M * K), rng);
  const std::vector<float> b = random_values<float>(static_cast<std::size_t>(K * N), rng);
  std::vector<float> want(static_cast<std::size_t>(M * N)), got(want.size());
  kernels::gemm_reference<float>(false, false, M, N, K, 1.5f, a.data(), K, b.data(), N, 0.0f, want.data(), N);
  for (SimdLevel cap : kAllLevels)
    for (int threads : {1, 2}) {
      kernels::set_simd_cap(cap);
      set_num_threads(threads);
      INFO("simd " << name(kernels::simd_level()) << ", threads " << threads);
      const kernels::SgemmKernel& kernel = kernels::sgemm_kernel_for(kernels::simd_level());
      const kernels::BPacker pack = [&](std::int64_t k0, std::int64_t kc, std::int64_t j0, std::int64_t n,
                                        std::int64_t panel_cols, float* out) {
        CHECK(panel_cols == kernel.tile_cols);
        CHECK(j0 % panel_cols == 0);
        kernel.pack_b({b.data() + k0 * N + j0, N, 1}, kc, n, out);
      };
      kernels::gemm_packing_b(false, M, N, K, 1.5f, a.data(), K, pack, 0.0f, got.data(), N);
      double worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, double(std::abs(got[i] - want[i])));
      CHECK(worst <= 1e-3);
    }
}

TEST_CASE("gemm<double> matches the reference", "[kernels][gemm]") {
  RestoreSettings restore;
  std::mt19937 rng(2);
  sweep_tile_edges<double>({8, 32, 128}, rng);  // 128: the portable loop's k block
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    sweep_blocks<double>(rng);
  }
}

TEST_CASE("gemm called inside a parallel_for runs on its caller's thread and matches", "[kernels][gemm]") {
  RestoreSettings restore;
  set_num_threads(2);
  // Big enough to be threaded on its own, with few columns (C split by rows).
  const Product products[] = {{false, false, 200, 40, 600, 1, 0.5}, {true, true, 90, 300, 200, -1, 0}};
  std::vector<double> errors(2);
  detail::parallel_for(0, 2, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      std::mt19937 rng(static_cast<unsigned>(10 + i));
      errors[static_cast<std::size_t>(i)] = scaled_error<float>(products[i], rng);
    }
  });
  CHECK(errors[0] <= 1.0);
  CHECK(errors[1] <= 1.0);
}

TEST_CASE("gemm reads neither A nor B when alpha or K is zero", "[kernels][gemm]") {
  std::vector<float> c{1, 2, 3, 4, 5, 6};
  kernels::gemm<float>(false, false, 2, 3, 4, 0.0f, nullptr, 4, nullptr, 3, 2.0f, c.data(), 3);
  CHECK(c == std::vector<float>{2, 4, 6, 8, 10, 12});
  kernels::gemm<float>(true, true, 2, 3, 0, 1.0f, nullptr, 2, nullptr, 0, 0.5f, c.data(), 3);
  CHECK(c == std::vector<float>{1, 2, 3, 4, 5, 6});
  std::vector<double> d(6, std::numeric_limits<double>::quiet_NaN());
  kernels::gemm<double>(false, true, 2, 3, 0, 1.0, nullptr, 0, nullptr, 0, 0.0, d.data(), 3);
  CHECK(d == std::vector<double>(6, 0.0));
}

TEST_CASE("gemm with an empty C touches nothing", "[kernels][gemm]") {
  kernels::gemm<float>(false, false, 0, 5, 3, 1.0f, nullptr, 3, nullptr, 5, 0.0f, nullptr, 5);
  kernels::gemm<double>(true, false, 4, 0, 3, 1.0, nullptr, 4, nullptr, 0, 1.0, nullptr, 0);
  SUCCEED();
}

TEST_CASE("the instruction-set cap never selects a set the CPU lacks", "[kernels][gemm]") {
  RestoreSettings restore;
  kernels::set_simd_cap(SimdLevel::avx512);
  const SimdLevel best = kernels::simd_level();
  SimdLevel previous = SimdLevel::avx512;
  for (SimdLevel cap : kAllLevels) {
    CHECK(kernels::set_simd_cap(cap) == previous);
    CHECK(kernels::simd_level() == std::min(best, cap));
    previous = cap;
  }
}
