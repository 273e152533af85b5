#include "xgrad/nn/normalization.hpp"

#include <fmt/format.h>

#include "util/check.hpp"
#include "xgrad/ops/normalization.hpp"

namespace xgrad::nn {

using detail::fail;
using detail::str;

// ---- batch norm -----------------------------------------------------------------------

BatchNormNd::BatchNormNd(const char* type_name, InputRanks ranks, std::int64_t features, double epsilon,
                         double running_momentum, bool with_affine, bool with_running_stats)
    : Module(type_name),
      num_features(features),
      eps(epsilon),
      momentum(running_momentum),
      affine(with_affine),
      track_running_stats(with_running_stats),
      ranks_(ranks) {
  if (num_features < 1) fail<ValueError>("{}: num_features must be positive, got {}", type_name, num_features);
  if (affine) {
    weight = register_parameter("weight", ones({num_features}));
    bias = register_parameter("bias", zeros({num_features}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({num_features}));
    running_var = register_buffer("running_var", ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, {.dtype = i64}));
  }
}

void BatchNormNd::check_input(const Tensor& input) const {
  detail::check_defined(type_name().c_str(), input);
  if (input.dim() < ranks_.min_rank || input.dim() > ranks_.max_rank) {
    const std::string ranks = ranks_.min_rank == ranks_.max_rank
                                  ? fmt::format("{}-D", ranks_.min_rank)
                                  : fmt::format("{}-D or {}-D", ranks_.min_rank, ranks_.max_rank);
    fail<ShapeError>("{}: expected a {} input {}, got shape {}", type_name(), ranks, ranks_.layout,
                     str(input.shape()));
  }
  if (input.size(1) != num_features)
    fail<ShapeError>("{}: expected {} channels (num_features), got input {}", type_name(), num_features,
                     str(input.shape()));
}

Tensor BatchNormNd::forward(const Tensor& input) {
  check_input(input);
  // Without running statistics there is nothing else to normalise with, even in evaluation (as torch).
  const bool use_batch_stats = is_training() || !track_running_stats;
  Tensor out = batch_norm(input, running_mean, running_var, weight, bias,
                          {.training = use_batch_stats, .momentum = momentum, .eps = eps});
  if (is_training() && track_running_stats) num_batches_tracked.add_(scalar_tensor(1.0, {.dtype = i64}));
  return out;
}

std::string BatchNormNd::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features, eps, momentum, affine,
                     track_running_stats);
}

BatchNorm1d::BatchNorm1d(std::int64_t features, double epsilon, double running_momentum, bool with_affine,
                         bool with_running_stats)
    : BatchNormNd("BatchNorm1d", {2, 3, "[N, C] or [N, C, L]"}, features, epsilon, running_momentum, with_affine,
                  with_running_stats) {}
BatchNorm2d::BatchNorm2d(std::int64_t features, double epsilon, double running_momentum, bool with_affine,
                         bool with_running_stats)
    : BatchNormNd("BatchNorm2d", {4, 4, "[N, C, H, W]"}, features, epsilon, running_momentum, with_affine,
                  with_running_stats) {}
BatchNorm3d::BatchNorm3d(std::int64_t features, double epsilon, double running_momentum, bool with_affine,
                         bool with_running_stats)
    : BatchNormNd("BatchNorm3d", {5, 5, "[N, C, D, H, W]"}, features, epsilon, running_momentum, with_affine,
                  with_running_stats) {}

// ---- local response norm ----------------------------------------------------------------

LocalResponseNorm::LocalResponseNorm(std::int64_t window, double scale, double exponent, double offset)
    : Module("LocalResponseNorm"), size(window), alpha(scale), beta(exponent), k(offset) {
  if (size < 1) fail<ValueError>("LocalResponseNorm: size must be at least 1, got {}", size);
}

Tensor LocalResponseNorm::forward(const Tensor& input) {
  return local_response_norm(input, {.size = size, .alpha = alpha, .beta = beta, .k = k});
}

std::string LocalResponseNorm::extra_repr() const {
  return fmt::format("{}, alpha={}, beta={}, k={}", size, alpha, beta, k);
}

}  // namespace xgrad::nn
