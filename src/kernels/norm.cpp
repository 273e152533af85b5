// Batch norm and local response norm kernels (see kernels/norm.hpp).

#include "kernels/norm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/simd.hpp"
#include "util/parallel.hpp"

namespace xgrad::kernels {

// ---- scalar twins ---------------------------------------------------------------

template <class T>
double channel_sum_reference(const T* x, ChannelRuns runs) {
  double total = 0;
  for (std::int64_t r = 0; r < runs.count; ++r)
    for (std::int64_t i = 0; i < runs.length; ++i) total += x[r * runs.stride + i];
  return total;
}

template <class T>
double channel_squared_deviation_reference(const T* x, ChannelRuns runs, T center) {
  double total = 0;
  for (std::int64_t r = 0; r < runs.count; ++r)
    for (std::int64_t i = 0; i < runs.length; ++i) {
      const double d = static_cast<double>(x[r * runs.stride + i]) - static_cast<double>(center);
      total += d * d;
    }
  return total;
}

template <class T>
void channel_affine_reference(const T* x, ChannelRuns runs, ChannelAffine<T> affine, T* y) {
  for (std::int64_t r = 0; r < runs.count; ++r)
    for (std::int64_t i = 0; i < runs.length; ++i) {
      const std::int64_t at = r * runs.stride + i;
      y[at] = (x[at] - affine.center) * affine.scale + affine.shift;
    }
}

template <class T>
ChannelGradSums channel_grad_sums_reference(const T* dy, const T* x, ChannelRuns runs, T center) {
  ChannelGradSums sums;
  for (std::int64_t r = 0; r < runs.count; ++r)
    for (std::int64_t i = 0; i < runs.length; ++i) {
      const std::int64_t at = r * runs.stride + i;
      sums.dy += dy[at];
      sums.dy_xc += static_cast<double>(dy[at]) * (static_cast<double>(x[at]) - static_cast<double>(center));
    }
  return sums;
}

template <class T>
void channel_grad_input_reference(const T* dy, const T* x, ChannelRuns runs, ChannelGradInput<T> coefficients, T* dx) {
  const ChannelGradInput<T>& k = coefficients;
  for (std::int64_t r = 0; r < runs.count; ++r)
    for (std::int64_t i = 0; i < runs.length; ++i) {
      const std::int64_t at = r * runs.stride + i;
      dx[at] = dy[at] * k.dy_scale + (x[at] - k.center) * k.x_scale + k.shift;
    }
}

template <class T>
void negative_power_reference(const T* d, std::int64_t n, T beta, T* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = std::pow(d[i], -beta);
}

namespace {

// The loops the kernels below are made of: SIMD for float, the scalar twins
// for double (the gradient-check dtype, where speed matters less).
double channel_sum(const float* x, ChannelRuns runs) {
  return simd_call(ChannelSumKernel{}, x, runs);
}
double channel_sum(const double* x, ChannelRuns runs) { return channel_sum_reference(x, runs); }

double channel_squared_deviation(const float* x, ChannelRuns runs, float center) {
  return simd_call(ChannelSquaredDeviationKernel{}, x, runs, center);
}
double channel_squared_deviation(const double* x, ChannelRuns runs, double center) {
  return channel_squared_deviation_reference(x, runs, center);
}

void channel_affine(const float* x, ChannelRuns runs, ChannelAffine<float> affine, float* y) {
  simd_call(ChannelAffineKernel{}, x, runs, affine, y);
}
void channel_affine(const double* x, ChannelRuns runs, ChannelAffine<double> affine, double* y) {
  channel_affine_reference(x, runs, affine, y);
}

ChannelGradSums channel_grad_sums(const float* dy, const float* x, ChannelRuns runs, float center) {
  return simd_call(ChannelGradSumsKernel{}, dy, x, runs, center);
}
ChannelGradSums channel_grad_sums(const double* dy, const double* x, ChannelRuns runs, double center) {
  return channel_grad_sums_reference(dy, x, runs, center);
}

void channel_grad_input(const float* dy, const float* x, ChannelRuns runs, ChannelGradInput<float> coefficients,
                        float* dx) {
  simd_call(ChannelGradInputKernel{}, dy, x, runs, coefficients, dx);
}
void channel_grad_input(const double* dy, const double* x, ChannelRuns runs, ChannelGradInput<double> coefficients,
                        double* dx) {
  channel_grad_input_reference(dy, x, runs, coefficients, dx);
}

void negative_power(const float* d, std::int64_t n, float beta, float* out) {
  simd_call(NegativePowerKernel{}, d, n, beta, out);
}
void negative_power(const double* d, std::int64_t n, double beta, double* out) {
  negative_power_reference(d, n, beta, out);
}

// Below this many elements per task, waking a worker costs more than it saves.
constexpr std::int64_t kMinElementsPerTask = std::int64_t{1} << 15;

// Runs fn(i) for every item in [0, count), items of `elements_per_item` each,
// split across threads.
template <class Fn>
void for_each_item(std::int64_t count, std::int64_t elements_per_item, Fn fn) {
  const std::int64_t grain =
      std::max<std::int64_t>(1, kMinElementsPerTask / std::max<std::int64_t>(1, elements_per_item));
  detail::parallel_for(0, count, grain, [&fn](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) fn(i);
  });
}

template <class T>
T gamma_of(const T* gamma, std::int64_t c) {
  return gamma ? gamma[c] : T(1);
}

}  // namespace

// ---- batch norm -------------------------------------------------------------------

template <class T>
void batch_norm_train_forward(const NormLayout& layout, const T* x, const T* gamma, const T* beta, double eps, T* y,
                              T* mean, T* var, T* invstd) {
  const ChannelRuns runs = layout.runs();
  const auto n = static_cast<double>(layout.per_channel());
  for_each_item(layout.channels, layout.per_channel(), [&](std::int64_t c) {
    const T* xc = x + c * layout.spatial;
    const double m = channel_sum(xc, runs) / n;
    // Deviations from the mean rounded to T, corrected for that rounding:
    // E[(x - center)^2] = var + (m - center)^2.
    const T center = static_cast<T>(m);
    const double offset = m - static_cast<double>(center);
    const double v = std::max(0.0, channel_squared_deviation(xc, runs, center) / n - offset * offset);
    const double inv = 1.0 / std::sqrt(v + eps);
    const ChannelAffine<T> affine{center, static_cast<T>(gamma_of(gamma, c) * inv), beta ? beta[c] : T(0)};
    channel_affine(xc, runs, affine, y + c * layout.spatial);
    mean[c] = center;
    var[c] = static_cast<T>(v);
    invstd[c] = static_cast<T>(inv);
  });
}

template <class T>
void channel_sums(const NormLayout& layout, const T* x, T* out) {
  const ChannelRuns runs = layout.runs();
  for_each_item(layout.channels, layout.per_channel(),
                [&](std::int64_t c) { out[c] = static_cast<T>(channel_sum(x + c * layout.spatial, runs)); });
}

template <class T>
void batch_norm_eval_forward(const NormLayout& layout, const T* x, const T* mean, const T* invstd, const T* gamma,
                             const T* beta, T* y) {
  const ChannelRuns runs = layout.runs();
  for_each_item(layout.channels, layout.per_channel(), [&](std::int64_t c) {
    const ChannelAffine<T> affine{mean[c], gamma_of(gamma, c) * invstd[c], beta ? beta[c] : T(0)};
    channel_affine(x + c * layout.spatial, runs, affine, y + c * layout.spatial);
  });
}

template <class T>
void batch_norm_backward(const NormLayout& layout, bool training, const T* dy, const T* x, const T* mean,
                         const T* invstd, const T* gamma, T* dx, T* sum_dy, T* sum_dy_xhat) {
  const ChannelRuns runs = layout.runs();
  const auto n = static_cast<double>(layout.per_channel());
  const bool need_sums = sum_dy || sum_dy_xhat || (dx && training);
  for_each_item(layout.channels, layout.per_channel(), [&](std::int64_t c) {
    const std::int64_t offset = c * layout.spatial;
    const double inv = invstd[c];
    const double k = static_cast<double>(gamma_of(gamma, c)) * inv;
    const ChannelGradSums sums =
        need_sums ? channel_grad_sums(dy + offset, x + offset, runs, mean[c]) : ChannelGradSums{};
    if (dx && training) {
      // gamma * invstd / n * (n dy - sum(dy) - xhat sum(dy xhat)), with xhat = (x - mean) invstd:
      // k dy - k invstd^2 mean(dy (x - mean)) (x - mean) - k mean(dy).
      const ChannelGradInput<T> coefficients{mean[c], static_cast<T>(k),
                                             static_cast<T>(-k * inv * inv * sums.dy_xc / n),
                                             static_cast<T>(-k * sums.dy / n)};
      channel_grad_input(dy + offset, x + offset, runs, coefficients, dx + offset);
    } else if (dx) {
      channel_affine(dy + offset, runs, ChannelAffine<T>{T(0), static_cast<T>(k), T(0)}, dx + offset);
    }
    if (sum_dy) sum_dy[c] = static_cast<T>(sums.dy);
    if (sum_dy_xhat) sum_dy_xhat[c] = static_cast<T>(sums.dy_xc * inv);
  });
}

// ---- group norm ----------------------------------------------------------------------

namespace {

// Channels of at least this many elements run the SIMD loops one channel at a
// time; shorter ones (layer norm's, S = 1) run them over the whole row and apply
// gamma and beta in plain loops the compiler vectorises.
constexpr std::int64_t kMinSimdRun = 16;

ChannelRuns contiguous_run(std::int64_t length) { return {1, length, length}; }

// out = in * g[k] over K channels of S contiguous elements (out may be in); S = 1
// on its own so that the loop vectorises.
template <class T>
void scale_channels(const T* g, std::int64_t K, std::int64_t S, const T* in, T* out) {
  if (S == 1) {
    for (std::int64_t k = 0; k < K; ++k) out[k] = in[k] * g[k];
    return;
  }
  for (std::int64_t k = 0; k < K; ++k)
    for (std::int64_t s = 0; s < S; ++s) out[k * S + s] = in[k * S + s] * g[k];
}

// y += b[k], laid out as scale_channels'.
template <class T>
void shift_channels(const T* b, std::int64_t K, std::int64_t S, T* y) {
  if (S == 1) {
    for (std::int64_t k = 0; k < K; ++k) y[k] += b[k];
    return;
  }
  for (std::int64_t k = 0; k < K; ++k)
    for (std::int64_t s = 0; s < S; ++s) y[k * S + s] += b[k];
}

}  // namespace

template <class T>
void group_norm_forward(const GroupNormLayout& layout, const T* x, const T* gamma, const T* beta, double eps, T* y,
                        T* mean, T* var, T* invstd) {
  const std::int64_t K = layout.channels_per_group(), S = layout.spatial, L = layout.row_length();
  const auto n = static_cast<double>(L);
  for_each_item(layout.rows(), L, [&](std::int64_t r) {
    const T* xr = x + r * L;
    T* yr = y + r * L;
    const double m = channel_sum(xr, contiguous_run(L)) / n;
    // As batch_norm_train_forward: deviations from the mean rounded to T, corrected.
    const T center = static_cast<T>(m);
    const double offset = m - static_cast<double>(center);
    const double v = std::max(0.0, channel_squared_deviation(xr, contiguous_run(L), center) / n - offset * offset);
    const double inv = 1.0 / std::sqrt(v + eps);
    const std::int64_t first = (r % layout.groups) * K;  // the row's first channel
    if (S >= kMinSimdRun) {
      for (std::int64_t k = 0; k < K; ++k) {
        const std::int64_t c = first + k;
        const ChannelAffine<T> affine{center, static_cast<T>(gamma_of(gamma, c) * inv), beta ? beta[c] : T(0)};
        channel_affine(xr + k * S, contiguous_run(S), affine, yr + k * S);
      }
    } else {
      channel_affine(xr, contiguous_run(L), ChannelAffine<T>{center, static_cast<T>(inv), T(0)}, yr);
      if (gamma) scale_channels(gamma + first, K, S, yr, yr);
      if (beta) shift_channels(beta + first, K, S, yr);
    }
    mean[r] = center;
    if (var) var[r] = static_cast<T>(v);
    invstd[r] = static_cast<T>(inv);
  });
}

template <class T>
void group_norm_backward(const GroupNormLayout& layout, const T* dy, const T* x, const T* mean, const T* invstd,
                         const T* gamma, T* dx, T* dgamma, T* dbeta) {
  const std::int64_t N = layout.batch, C = layout.channels, G = layout.groups;
  const std::int64_t K = layout.channels_per_group(), S = layout.spatial, L = layout.row_length();
  if (dx) {
    // dx = invstd * (gamma dy - mean(gamma dy) - xhat mean(gamma dy xhat)), with xhat = (x - mean) invstd:
    // invstd gdy - invstd^3 mean(gdy (x - mean)) (x - mean) - invstd mean(gdy), gdy = gamma dy (dy
    // itself without gamma), by batch norm's SIMD loops over the whole row.
    for_each_item(layout.rows(), L, [&](std::int64_t r) {
      const std::int64_t offset = r * L;
      const T* gdy = dy + offset;
      std::vector<T> scaled;
      if (gamma) {
        scaled.resize(static_cast<std::size_t>(L));
        scale_channels(gamma + (r % G) * K, K, S, gdy, scaled.data());
        gdy = scaled.data();
      }
      const T m = mean[r];
      const ChannelGradSums sums = channel_grad_sums(gdy, x + offset, contiguous_run(L), m);
      const double inv = invstd[r], n = static_cast<double>(L);
      const ChannelGradInput<T> coefficients{m, static_cast<T>(inv), static_cast<T>(-inv * inv * inv * sums.dy_xc / n),
                                             static_cast<T>(-inv * sums.dy / n)};
      channel_grad_input(gdy, x + offset, contiguous_run(L), coefficients, dx + offset);
    });
  }
  if (!dgamma && !dbeta) return;
  // dgamma[c] = sum over n of invstd * sum dy (x - mean), dbeta[c] = sum dy.
  if (S >= kMinSimdRun) {
    for_each_item(C, N * S, [&](std::int64_t c) {
      double sum_dy = 0, sum_dy_xhat = 0;
      for (std::int64_t n = 0; n < N; ++n) {
        const std::int64_t r = n * G + c / K, at = (n * C + c) * S;
        const ChannelGradSums sums = channel_grad_sums(dy + at, x + at, contiguous_run(S), mean[r]);
        sum_dy += sums.dy;
        sum_dy_xhat += sums.dy_xc * static_cast<double>(invstd[r]);
      }
      if (dbeta) dbeta[c] = static_cast<T>(sum_dy);
      if (dgamma) dgamma[c] = static_cast<T>(sum_dy_xhat);
    });
    return;
  }
  // Short runs: the samples split into chunks, each streaming through its rows and
  // summing into [C] partial sums of its own (detail::parallel_sum).
  std::vector<double> sums(static_cast<std::size_t>(2 * C));  // sum dy, then sum dy xhat
  const std::int64_t grain = std::max<std::int64_t>(1, kMinElementsPerTask / std::max<std::int64_t>(1, C * S));
  detail::parallel_sum<double>(N, grain, 2 * C, sums.data(), [&](std::int64_t lo, std::int64_t hi, double* out) {
    double* sum_dy = out;
    double* sum_dy_xhat = out + C;
    for (std::int64_t n = lo; n < hi; ++n)
      for (std::int64_t g = 0; g < G; ++g) {
        const std::int64_t r = n * G + g;
        const double m = mean[r], inv = invstd[r];
        const std::int64_t c0 = g * K;
        const T* dyr = dy + r * L;
        const T* xr = x + r * L;
        if (S == 1) {
          for (std::int64_t k = 0; k < K; ++k) {
            const double d = dyr[k];
            sum_dy[c0 + k] += d;
            sum_dy_xhat[c0 + k] += d * (static_cast<double>(xr[k]) - m) * inv;
          }
        } else {
          for (std::int64_t k = 0; k < K; ++k)
            for (std::int64_t s = 0; s < S; ++s) {
              const double d = dyr[k * S + s];
              sum_dy[c0 + k] += d;
              sum_dy_xhat[c0 + k] += d * (static_cast<double>(xr[k * S + s]) - m) * inv;
            }
        }
      }
  });
  for (std::int64_t c = 0; c < C; ++c) {
    if (dbeta) dbeta[c] = static_cast<T>(sums[static_cast<std::size_t>(c)]);
    if (dgamma) dgamma[c] = static_cast<T>(sums[static_cast<std::size_t>(C + c)]);
  }
}

// ---- local response norm -----------------------------------------------------------

template <class T>
void local_response_norm_forward(const NormLayout& layout, const LrnWindow& window, const T* x, T* y, T* inv,
                                 T* inv_over_denom) {
  const std::int64_t C = layout.channels, S = layout.spatial;
  const T k = static_cast<T>(window.k), scale = static_cast<T>(window.alpha / static_cast<double>(window.size));
  for_each_item(layout.batch * C, S * window.size, [&](std::int64_t plane) {
    const std::int64_t n = plane / C, c = plane % C;
    const T* xn = x + n * C * S;
    // This plane's row of inv_over_denom holds the window's sum of squares,
    // then the denominator, then what its name says.
    T* row = inv_over_denom + plane * S;
    std::fill(row, row + S, T(0));
    for (std::int64_t w = std::max<std::int64_t>(0, c - window.before()); w <= std::min(C - 1, c + window.after());
         ++w) {
      const T* xw = xn + w * S;
      for (std::int64_t s = 0; s < S; ++s) row[s] += xw[s] * xw[s];
    }
    for (std::int64_t s = 0; s < S; ++s) row[s] = k + scale * row[s];
    T* ip = inv + plane * S;
    negative_power(row, S, static_cast<T>(window.beta), ip);
    const T* xp = x + plane * S;
    T* yp = y + plane * S;
    for (std::int64_t s = 0; s < S; ++s) {
      yp[s] = xp[s] * ip[s];
      row[s] = ip[s] / row[s];
    }
  });
}

template <class T>
void local_response_norm_backward(const NormLayout& layout, const LrnWindow& window, const T* dy, const T* x,
                                  const T* inv, const T* inv_over_denom, T* dx) {
  const std::int64_t C = layout.channels, S = layout.spatial;
  const T coef = static_cast<T>(2.0 * window.alpha * window.beta / static_cast<double>(window.size));
  for_each_item(layout.batch * C, S * window.size, [&](std::int64_t plane) {
    const std::int64_t n = plane / C, j = plane % C;
    const std::int64_t base = n * C * S;
    const T* xj = x + plane * S;
    const T* dyj = dy + plane * S;
    const T* ij = inv + plane * S;
    T* dxj = dx + plane * S;
    for (std::int64_t s = 0; s < S; ++s) dxj[s] = dyj[s] * ij[s];
    // Channel j sits in the windows of channels j - after .. j + before.
    for (std::int64_t c = std::max<std::int64_t>(0, j - window.after()); c <= std::min(C - 1, j + window.before());
         ++c) {
      const T* xc = x + base + c * S;
      const T* dyc = dy + base + c * S;
      const T* rc = inv_over_denom + base + c * S;
      for (std::int64_t s = 0; s < S; ++s) dxj[s] -= coef * xj[s] * (dyc[s] * xc[s] * rc[s]);
    }
  });
}

#define XGRAD_NORM_INSTANTIATE(T)                                                                                     \
  template double channel_sum_reference<T>(const T*, ChannelRuns);                                                    \
  template double channel_squared_deviation_reference<T>(const T*, ChannelRuns, T);                                   \
  template void channel_affine_reference<T>(const T*, ChannelRuns, ChannelAffine<T>, T*);                             \
  template ChannelGradSums channel_grad_sums_reference<T>(const T*, const T*, ChannelRuns, T);                        \
  template void channel_grad_input_reference<T>(const T*, const T*, ChannelRuns, ChannelGradInput<T>, T*);            \
  template void batch_norm_train_forward<T>(const NormLayout&, const T*, const T*, const T*, double, T*, T*, T*, T*); \
  template void channel_sums<T>(const NormLayout&, const T*, T*);                                                     \
  template void batch_norm_eval_forward<T>(const NormLayout&, const T*, const T*, const T*, const T*, const T*, T*);  \
  template void batch_norm_backward<T>(const NormLayout&, bool, const T*, const T*, const T*, const T*, const T*, T*, \
                                       T*, T*);                                                                       \
  template void group_norm_forward<T>(const GroupNormLayout&, const T*, const T*, const T*, double, T*, T*, T*, T*);  \
  template void group_norm_backward<T>(const GroupNormLayout&, const T*, const T*, const T*, const T*, const T*, T*,   \
                                       T*, T*);                                                                       \
  template void negative_power_reference<T>(const T*, std::int64_t, T, T*);                                           \
  template void local_response_norm_forward<T>(const NormLayout&, const LrnWindow&, const T*, T*, T*, T*);            \
  template void local_response_norm_backward<T>(const NormLayout&, const LrnWindow&, const T*, const T*, const T*,    \
                                                const T*, T*);

XGRAD_NORM_INSTANTIATE(float)
XGRAD_NORM_INSTANTIATE(double)

#undef XGRAD_NORM_INSTANTIATE

}  // namespace xgrad::kernels
