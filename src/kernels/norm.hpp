#pragma once
// Kernel layer: batch, group (and so layer and instance) and local response
// normalisation over contiguous [N, C, S] data (S = the product of the spatial
// dims, 1 for [N, C]). Raw pointers and sizes; no Tensor, no autograd.
// Instantiated for float and double; float runs the SIMD loops of
// kernels/norm_simd.hpp, double runs their scalar twins below. Work is split
// across channels (batch norm; group norm's gamma and beta gradients over long
// channels), groups (group norm), samples (group norm's gamma and beta gradients
// over short channels, by detail::parallel_sum) or planes (local response norm)
// with detail::parallel_for.

#include <cstdint>

#include "kernels/norm_simd.hpp"

namespace xgrad::kernels {

/// Contiguous [N, C, S] data.
struct NormLayout {
  std::int64_t batch;     ///< N
  std::int64_t channels;  ///< C
  std::int64_t spatial;   ///< S
  std::int64_t per_channel() const { return batch * spatial; }
  ChannelRuns runs() const { return {batch, channels * spatial, spatial}; }
};

// ---- batch norm ----------------------------------------------------------------
// Per-channel [C] arrays; gamma may be null (1) and beta may be null (0).
// xhat = (x - mean) * invstd.

/// Training: the batch mean and biased variance of each channel (two passes,
/// accumulated in double), invstd = 1 / sqrt(var + eps), and
/// y = xhat * gamma + beta. Each channel is normalised right after its
/// statistics, while its data is still in cache.
template <class T>
void batch_norm_train_forward(const NormLayout& layout, const T* x, const T* gamma, const T* beta, double eps, T* y,
                              T* mean, T* var, T* invstd);

/// out[c] = the sum of channel c over the batch and space, accumulated in
/// double (a convolution's bias gradient: no permuted copy of x).
template <class T>
void channel_sums(const NormLayout& layout, const T* x, T* out);

/// Evaluation: y = xhat * gamma + beta with the given statistics.
template <class T>
void batch_norm_eval_forward(const NormLayout& layout, const T* x, const T* mean, const T* invstd, const T* gamma,
                             const T* beta, T* y);

/// Backward. When sum_dy and sum_dy_xhat are not null they receive sum(dy) and
/// sum(dy * xhat) per channel (the gradients of beta and gamma). When dx is not
/// null it receives the input gradient: in training, through the batch
/// statistics, dx = gamma * invstd / n * (n * dy - sum(dy) - xhat * sum(dy * xhat))
/// with n = N * S; in evaluation dx = dy * gamma * invstd.
template <class T>
void batch_norm_backward(const NormLayout& layout, bool training, const T* dy, const T* x, const T* mean,
                         const T* invstd, const T* gamma, T* dx, T* sum_dy, T* sum_dy_xhat);

// Scalar twins of the SIMD loops (the reference in tests, and the double path).
template <class T>
double channel_sum_reference(const T* x, ChannelRuns runs);
template <class T>
double channel_squared_deviation_reference(const T* x, ChannelRuns runs, T center);
template <class T>
void channel_affine_reference(const T* x, ChannelRuns runs, ChannelAffine<T> affine, T* y);
template <class T>
ChannelGradSums channel_grad_sums_reference(const T* dy, const T* x, ChannelRuns runs, T center);
template <class T>
void channel_grad_input_reference(const T* dy, const T* x, ChannelRuns runs, ChannelGradInput<T> coefficients, T* dx);

// ---- group norm (and layer norm, instance norm) ---------------------------------

/// Contiguous [N, C, S] data normalised over groups of C / G consecutive channels
/// of each sample: row r = n * G + g is the (C / G) * S contiguous elements of
/// group g of sample n, whose channels are g * C / G .. (g + 1) * C / G - 1.
/// Layer norm is {rows, D, 1, 1} (D the normalised elements, one "channel" each);
/// instance norm has G = C.
struct GroupNormLayout {
  std::int64_t batch;     ///< N
  std::int64_t channels;  ///< C
  std::int64_t spatial;   ///< S
  std::int64_t groups;    ///< G, dividing C
  std::int64_t channels_per_group() const { return channels / groups; }
  std::int64_t row_length() const { return channels / groups * spatial; }
  std::int64_t rows() const { return batch * groups; }
};

/// Per row: the mean and biased variance (two passes, accumulated in double),
/// invstd = 1 / sqrt(var + eps), and y = xhat * gamma[c] + beta[c] with
/// xhat = (x - mean) * invstd. gamma, beta and var may be null. Work is split
/// across rows.
template <class T>
void group_norm_forward(const GroupNormLayout& layout, const T* x, const T* gamma, const T* beta, double eps, T* y,
                        T* mean, T* var, T* invstd);

/// Backward, each output optional (null): dx = invstd * (gamma dy - mean(gamma dy)
/// - xhat * mean(gamma dy xhat)), the means over the row; dgamma[c] = sum dy xhat
/// and dbeta[c] = sum dy over the samples and space of channel c.
template <class T>
void group_norm_backward(const GroupNormLayout& layout, const T* dy, const T* x, const T* mean, const T* invstd,
                         const T* gamma, T* dx, T* dgamma, T* dbeta);

// ---- local response norm -------------------------------------------------------

/// The window of channels each output channel averages over.
struct LrnWindow {
  std::int64_t size;  ///< channels in the window
  double alpha, beta, k;
  std::int64_t before() const { return size / 2; }
  std::int64_t after() const { return (size - 1) / 2; }
};

/// Scalar twin of NegativePowerKernel: out = d^-beta.
template <class T>
void negative_power_reference(const T* d, std::int64_t n, T beta, T* out);

/// denom[n, c, s] = k + alpha / size * sum_{c' = c - before}^{c + after} x[n, c', s]^2
/// (channels outside [0, C) count as 0); writes inv = denom^-beta, y = x * inv
/// and, for the backward pass, inv_over_denom = denom^(-beta - 1).
template <class T>
void local_response_norm_forward(const NormLayout& layout, const LrnWindow& window, const T* x, T* y, T* inv,
                                 T* inv_over_denom);

/// dx_j = dy_j * inv_j - 2 alpha beta / size * x_j * sum_c dy_c * x_c * inv_over_denom_c over the channels
/// c = j - after .. j + before, whose windows hold j.
template <class T>
void local_response_norm_backward(const NormLayout& layout, const LrnWindow& window, const T* dy, const T* x,
                                  const T* inv, const T* inv_over_denom, T* dx);

}  // namespace xgrad::kernels
