// Portable blocked GEMM. op(B) is walked in panels of kBlockK x kBlockN that
// stay in cache while every row of C takes its update from them; the inner loop
// runs along a row of C and a row of the panel, both unit-stride, so it
// auto-vectorises. A transposed B is packed into a row-major panel first.

#include "kernels/gemm.hpp"

#include <algorithm>
#include <vector>

namespace xgrad::kernels {

namespace {

constexpr std::int64_t kBlockK = 128;  // panel rows (the shared dim)
constexpr std::int64_t kBlockN = 256;  // panel columns

// A block of op(B) whose rows are unit-stride, row k at data + k * ld.
template <class T>
struct Panel {
  const T* data;
  std::int64_t ld;
};

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

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc) {
  scale_c(M, N, beta, C, ldc);
  if (M == 0 || N == 0 || K == 0 || alpha == T(0)) return;
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
