// GEMM drivers.
//
// float (the speed path), after Goto and van de Geijn. op(A), times alpha, is
// packed once into panels of tile_rows rows, split along k into blocks of depth
// kc (pack_a, shared by the threads). The threads then take runs of column
// panels of C from a shared queue, longest first (so a thread slowed by a busy
// neighbour simply takes fewer). For a block of at most block_panels panels a
// thread walks the k blocks: it packs that kc x nc block of op(B) into its own
// buffer, which stays in its core's L2 (through a BPacker: from the stored B
// for gemm, straight from the caller's data for gemm_packing_b, e.g. the
// implicit convolutions of conv_implicit.cpp), and the micro-kernel of gemm_simd.cpp
// runs over it, keeping one A panel (kc x tile_rows) in L1 while the B panels
// stream past, and a tile_rows x tile_cols tile of C in registers. The first k
// block applies beta (not reading C when it is 0), the later ones add. C is split
// into row blocks too when it has too few columns to share out, except when the
// product runs inside another parallel_for (then it runs on its caller's thread).
//
// double (gradient checks): a portable blocked loop. op(B) is walked in panels
// of kBlockK x kBlockN that stay in cache while every row of C takes its update
// from them; the inner loop runs along a row of C and a row of the panel, both
// unit-stride, so it auto-vectorises. A transposed B is packed first.

#include "kernels/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "kernels/gemm_simd.hpp"
#include "kernels/simd.hpp"
#include "util/parallel.hpp"
#include "xgrad/parallel.hpp"

namespace xgrad::kernels {

namespace {

// C = beta * C, without reading C when beta == 0.
template <class T>
void scale_c(std::int64_t M, std::int64_t N, T beta, T* C, std::int64_t ldc) {
  if (beta == T(1)) return;
  for (std::int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (beta == T(0)) {
      std::fill(c, c + N, T(0));
    } else {
      for (std::int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}

// ---- float: packed, blocked, threaded -------------------------------------

// Waking the pool costs tens of microseconds on a busy 2-core VM: products and
// packing jobs below these sizes stay on the calling thread.
constexpr std::int64_t kParallelWork = std::int64_t{1} << 22;  // M*N*K (160^3 takes ~80 us on one core)
constexpr std::int64_t kPackGrain = std::int64_t{1} << 18;     // floats of A one thread packs, at least
constexpr std::int64_t kPanelsPerThread = 8;                   // column panels per thread, at least, to balance
constexpr std::int64_t kBlockBBytes = 512 * 1024;              // a packed kc x nc block of B, in a core's L2

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
std::int64_t round_up(std::int64_t a, std::int64_t b) { return ceil_div(a, b) * b; }

// A 64-byte aligned float buffer that only grows; one per thread (thread_local)
// so that repeated products reuse it instead of allocating and faulting pages in.
class ScratchBuffer {
 public:
  float* reserve(std::int64_t count) {
    if (count > capacity_) {
      data_.reset(static_cast<float*>(::operator new[](static_cast<std::size_t>(count) * sizeof(float), kAlign)));
      capacity_ = count;
    }
    return data_.get();
  }

 private:
  static constexpr std::align_val_t kAlign{64};
  struct Free {
    void operator()(float* p) const { ::operator delete[](p, kAlign); }
  };
  std::unique_ptr<float, Free> data_;
  std::int64_t capacity_ = 0;
};

thread_local ScratchBuffer packed_a_buffer;
thread_local ScratchBuffer packed_b_buffer;

StridedMatrix operand(bool transposed, const float* data, std::int64_t ld) {
  return transposed ? StridedMatrix{data, 1, ld} : StridedMatrix{data, ld, 1};
}

StridedMatrix offset(StridedMatrix m, std::int64_t row, std::int64_t col) {
  return {m.data + row * m.row_stride + col * m.col_stride, m.row_stride, m.col_stride};
}

// How a product is cut up along k and N.
struct Plan {
  std::int64_t kc;            // depth of a k block (the last may be shorter)
  std::int64_t col_panels;    // ceil(N / tile_cols)
  std::int64_t block_panels;  // panels packed together: a kc x nc block of B that stays in L2
  std::int64_t threads;       // 1 for small products
};

Plan plan_product(const SgemmKernel& kernel, std::int64_t M, std::int64_t N, std::int64_t K) {
  Plan p{};
  p.kc = ceil_div(K, ceil_div(K, kernel.depth));  // even k blocks, none of them tiny
  p.col_panels = ceil_div(N, kernel.tile_cols);
  p.block_panels = std::max<std::int64_t>(1, kBlockBBytes / (p.kc * kernel.tile_cols * std::int64_t{sizeof(float)}));
  p.threads = M * N * K < kParallelWork ? 1 : get_num_threads();
  return p;
}

// The work shared out: one unit is one column panel of one row block of C,
// numbered row block by row block, so that a run of units is mostly one wide
// strip of C. Rows are split only when the columns are too few to share out
// among the workers: each row block packs op(B) again, which is cheap exactly
// when N is small.
struct Units {
  std::int64_t mc;          // rows of a row block
  std::int64_t col_panels;  // units per row block
  std::int64_t count;       // row blocks * col_panels
};

Units share_out(const SgemmKernel& kernel, std::int64_t M, std::int64_t col_panels, std::int64_t workers) {
  const std::int64_t row_blocks =
      workers == 1 ? 1 : std::min(ceil_div(workers * kPanelsPerThread, col_panels), ceil_div(M, kernel.tile_rows));
  const std::int64_t mc = round_up(ceil_div(M, row_blocks), kernel.tile_rows);
  return {mc, col_panels, ceil_div(M, mc) * col_panels};
}

// Hands out runs of units, shorter as fewer remain (guided scheduling): long
// first runs keep B blocks wide, short last runs let the threads finish
// together, and a thread slowed by a busy neighbour simply takes fewer.
class UnitQueue {
 public:
  UnitQueue(std::int64_t units, std::int64_t threads) : units_(units), threads_(threads) {}

  /// Claims the next run [lo, hi); false when none is left.
  bool claim(std::int64_t& lo, std::int64_t& hi) {
    lo = next_.load(std::memory_order_relaxed);
    do {
      if (lo >= units_) return false;
      hi = lo + std::max<std::int64_t>(1, (units_ - lo) / (2 * threads_));
    } while (!next_.compare_exchange_weak(lo, hi, std::memory_order_relaxed));
    return true;
  }

 private:
  std::atomic<std::int64_t> next_{0};
  std::int64_t units_, threads_;
};

// C = alpha * op(A) * op(B) + beta * C in float, through the packed kernel.
class PackedProduct {
 public:
  PackedProduct(const SgemmKernel& kernel, StridedMatrix a, const BPacker& pack_b, std::int64_t M, std::int64_t N,
                std::int64_t K, float alpha, float beta, float* c, std::int64_t ldc)
      : kernel_(kernel), a_(a), pack_b_(pack_b), M_(M), N_(N), K_(K), alpha_(alpha), beta_(beta), c_(c), ldc_(ldc),
        plan_(plan_product(kernel, M, N, K)), rows_padded_(round_up(M, kernel.tile_rows)) {}

  void run() {
    packed_a_ = packed_a_buffer.reserve(rows_padded_ * K_);
    pack_a();
    const Units shared = share_out(kernel_, M_, plan_.col_panels, plan_.threads);
    UnitQueue queue(shared.count, plan_.threads);
    detail::parallel_for(0, plan_.threads, 1, [&](std::int64_t lo, std::int64_t hi) {
      float* packed_b = packed_b_buffer.reserve(plan_.kc * plan_.block_panels * kernel_.tile_cols);
      if (hi - lo == 1) {
        for (std::int64_t first, last; queue.claim(first, last);) compute_units(shared, first, last, packed_b);
      } else {  // parallel_for ran inline (nested in another one): all of C here, rows not split
        const Units alone = share_out(kernel_, M_, plan_.col_panels, 1);
        compute_units(alone, 0, alone.count, packed_b);
      }
    });
  }

 private:
  // All of op(A) * alpha into A panels: the k block at k0 (depth kc) holds the
  // panels of every row, rows_padded * kc floats from packed_a + k0 * rows_padded.
  void pack_a() {
    const std::int64_t panels = rows_padded_ / kernel_.tile_rows;
    const std::int64_t grain = plan_.threads == 1 ? panels : ceil_div(kPackGrain, kernel_.tile_rows * K_);
    detail::parallel_for(0, panels, grain, [&](std::int64_t lo, std::int64_t hi) {
      const std::int64_t row0 = lo * kernel_.tile_rows, rows = std::min(hi * kernel_.tile_rows, M_) - row0;
      for (std::int64_t k0 = 0; k0 < K_; k0 += plan_.kc) {
        const std::int64_t kc = std::min(plan_.kc, K_ - k0);
        kernel_.pack_a(offset(a_, row0, k0), rows, kc, alpha_, packed_a_ + k0 * rows_padded_ + row0 * kc);
      }
    });
  }

  void compute_units(const Units& units, std::int64_t lo, std::int64_t hi, float* packed_b) const {
    while (lo < hi) {
      const std::int64_t row_block = lo / units.col_panels, panel = lo % units.col_panels;
      const std::int64_t panels = std::min({hi - lo, units.col_panels - panel, plan_.block_panels});
      compute_block(row_block * units.mc, units.mc, panel * kernel_.tile_cols, panels * kernel_.tile_cols, packed_b);
      lo += panels;
    }
  }

  // C[i0 : i0+mc, j0 : j0+nc] over all k blocks, packing op(B) block by block.
  void compute_block(std::int64_t i0, std::int64_t mc, std::int64_t j0, std::int64_t nc, float* packed_b) const {
    const std::int64_t m = std::min(mc, M_ - i0), n = std::min(nc, N_ - j0);
    for (std::int64_t k0 = 0; k0 < K_; k0 += plan_.kc) {
      const std::int64_t kc = std::min(plan_.kc, K_ - k0);
      pack_b_(k0, kc, j0, n, kernel_.tile_cols, packed_b);
      kernel_.multiply(packed_a_ + k0 * rows_padded_ + i0 * kc, packed_b, m, n, kc, k0 == 0 ? beta_ : 1.0f,
                       c_ + i0 * ldc_ + j0, ldc_);
    }
  }

  const SgemmKernel& kernel_;
  StridedMatrix a_;
  const BPacker& pack_b_;
  std::int64_t M_, N_, K_;
  float alpha_, beta_;
  float* c_;
  std::int64_t ldc_;
  Plan plan_;
  std::int64_t rows_padded_;
  float* packed_a_ = nullptr;
};

// ---- double: portable ------------------------------------------------------

constexpr std::int64_t kBlockK = 128;  // panel rows (the shared dim)
constexpr std::int64_t kBlockN = 256;  // panel columns

// A block of op(B) whose rows are unit-stride, row k at data + k * ld.
template <class T>
struct Panel {
  const T* data;
  std::int64_t ld;
};

// op(B)[k0 : k0+kc, j0 : j0+nc] for op(B) = Bᵀ, copied row-major into `out`.
template <class T>
Panel<T> pack_transposed(const T* B, std::int64_t ldb, std::int64_t k0, std::int64_t kc, std::int64_t j0,
                         std::int64_t nc, T* out) {
  for (std::int64_t j = 0; j < nc; ++j) {
    const T* column = B + (j0 + j) * ldb + k0;  // op(B)[k0.., j0 + j], unit-stride in B
    for (std::int64_t k = 0; k < kc; ++k) out[k * nc + j] = column[k];
  }
  return {out, nc};
}

// c[0:nc] += alpha * sum_k a[k * a_step] * panel[k, 0:nc]
template <class T>
void update_row(T alpha, const T* a, std::int64_t a_step, Panel<T> panel, std::int64_t kc, std::int64_t nc,
                T* __restrict c) {
  for (std::int64_t k = 0; k < kc; ++k) {
    const T scale = alpha * a[k * a_step];
    const T* __restrict b = panel.data + k * panel.ld;
    for (std::int64_t j = 0; j < nc; ++j) c[j] += scale * b[j];
  }
}

template <class T>
void portable_gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
                   std::int64_t lda, const T* B, std::int64_t ldb, T* C, std::int64_t ldc) {
  std::vector<T> packed(trans_b ? static_cast<std::size_t>(std::min(K, kBlockK) * std::min(N, kBlockN)) : 0);
  // op(A)[i, k] sits at A + i * a_row + k * a_step.
  const std::int64_t a_row = trans_a ? 1 : lda;
  const std::int64_t a_step = trans_a ? lda : 1;
  for (std::int64_t j0 = 0; j0 < N; j0 += kBlockN) {
    const std::int64_t nc = std::min(kBlockN, N - j0);
    for (std::int64_t k0 = 0; k0 < K; k0 += kBlockK) {
      const std::int64_t kc = std::min(kBlockK, K - k0);
      const Panel<T> panel =
          trans_b ? pack_transposed(B, ldb, k0, kc, j0, nc, packed.data()) : Panel<T>{B + k0 * ldb + j0, ldb};
      for (std::int64_t i = 0; i < M; ++i)
        update_row(alpha, A + i * a_row + k0 * a_step, a_step, panel, kc, nc, C + i * ldc + j0);
    }
  }
}

}  // namespace

const SgemmKernel& sgemm_kernel_for(SimdLevel level) {
  static const SgemmKernel avx512 = sgemm_kernel(xsimd::avx512f{});
  static const SgemmKernel avx2 = sgemm_kernel(xsimd::fma3<xsimd::avx2>{});
  static const SgemmKernel sse2 = sgemm_kernel(xsimd::sse2{});
  switch (level) {
    case SimdLevel::avx512: return avx512;
    case SimdLevel::avx2: return avx2;
    case SimdLevel::sse2: break;
  }
  return sse2;
}

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == T(0)) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    const SgemmKernel& kernel = sgemm_kernel_for(simd_level());
    const StridedMatrix b = operand(trans_b, B, ldb);
    const BPacker pack_b = [&](std::int64_t k0, std::int64_t kc, std::int64_t j0, std::int64_t n, std::int64_t,
                               float* out) { kernel.pack_b(offset(b, k0, j0), kc, n, out); };
    PackedProduct(kernel, operand(trans_a, A, lda), pack_b, M, N, K, alpha, beta, C, ldc).run();
  } else {
    scale_c(M, N, beta, C, ldc);
    portable_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, C, ldc);
  }
}

void gemm_packing_b(bool trans_a, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
                    std::int64_t lda, const BPacker& pack_b, float beta, float* C, std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  PackedProduct(sgemm_kernel_for(simd_level()), operand(trans_a, A, lda), pack_b, M, N, K, alpha, beta, C, ldc).run();
}

template <class T>
void gemm_reference(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
                    std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc) {
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j) {
      T acc = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        const T a = trans_a ? A[k * lda + i] : A[i * lda + k];
        const T b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      T& c = C[i * ldc + j];
      c = beta == T(0) ? alpha * acc : alpha * acc + beta * c;
    }
}

#define XGRAD_INSTANTIATE_GEMM(T)                                                                                  \
  template void gemm<T>(bool, bool, std::int64_t, std::int64_t, std::int64_t, T, const T*, std::int64_t, const T*, \
                        std::int64_t, T, T*, std::int64_t);                                                        \
  template void gemm_reference<T>(bool, bool, std::int64_t, std::int64_t, std::int64_t, T, const T*, std::int64_t, \
                                  const T*, std::int64_t, T, T*, std::int64_t);
XGRAD_INSTANTIATE_GEMM(float)
XGRAD_INSTANTIATE_GEMM(double)
#undef XGRAD_INSTANTIATE_GEMM

}  // namespace xgrad::kernels
