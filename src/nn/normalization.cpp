#include "xgrad/nn/normalization.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/check.hpp"
#include "util/log.hpp"
#include "xgrad/ops/normalization.hpp"

namespace xgrad::nn {

using detail::fail;
using detail::str;

// ---- batch norm -----------------------------------------------------------------------

BatchNormNd::BatchNormNd(const char* type_name, InputRanks ranks, std::int64_t features, double epsilon,
                         std::optional<double> running_momentum, bool with_affine, bool with_running_stats)
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
  // As torch.nn.modules.batchnorm._BatchNorm.forward: the count moves on first,
  // and momentum None averages over every batch counted.
  double factor = momentum.value_or(0.0);
  if (is_training() && track_running_stats) {
    num_batches_tracked.add_(scalar_tensor(1.0, {.dtype = i64}));
    if (!momentum) factor = 1.0 / num_batches_tracked.item();
  }
  // Without running statistics there is nothing else to normalise with, even in evaluation (as torch).
  const bool use_batch_stats = is_training() || !track_running_stats;
  return batch_norm(input, running_mean, running_var, weight, bias,
                    {.training = use_batch_stats, .momentum = factor, .eps = eps});
}

std::string BatchNormNd::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features, eps,
                     momentum ? fmt::format("{}", *momentum) : std::string("None"), affine, track_running_stats);
}

BatchNorm1d::BatchNorm1d(std::int64_t features, double epsilon, std::optional<double> running_momentum,
                         bool with_affine, bool with_running_stats)
    : BatchNormNd("BatchNorm1d", {2, 3, "[N, C] or [N, C, L]"}, features, epsilon, running_momentum, with_affine,
                  with_running_stats) {}
BatchNorm2d::BatchNorm2d(std::int64_t features, double epsilon, std::optional<double> running_momentum,
                         bool with_affine, bool with_running_stats)
    : BatchNormNd("BatchNorm2d", {4, 4, "[N, C, H, W]"}, features, epsilon, running_momentum, with_affine,
                  with_running_stats) {}
BatchNorm3d::BatchNorm3d(std::int64_t features, double epsilon, std::optional<double> running_momentum,
                         bool with_affine, bool with_running_stats)
    : BatchNormNd("BatchNorm3d", {5, 5, "[N, C, D, H, W]"}, features, epsilon, running_momentum, with_affine,
                  with_running_stats) {}

// ---- group norm ---------------------------------------------------------------------------

GroupNorm::GroupNorm(std::int64_t groups, std::int64_t channels, double epsilon, bool with_affine)
    : Module("GroupNorm"), num_groups(groups), num_channels(channels), eps(epsilon), affine(with_affine) {
  if (num_groups < 1) fail<ValueError>("GroupNorm: num_groups must be positive, got {}", num_groups);
  if (num_channels < 1) fail<ValueError>("GroupNorm: num_channels must be positive, got {}", num_channels);
  if (num_channels % num_groups != 0)
    fail<ValueError>("GroupNorm: num_channels must be divisible by num_groups, got num_channels = {} and "
                     "num_groups = {}", num_channels, num_groups);
  if (affine) {
    weight = register_parameter("weight", ones({num_channels}));
    bias = register_parameter("bias", zeros({num_channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& input) { return group_norm(input, num_groups, weight, bias, {.eps = eps}); }

std::string GroupNorm::extra_repr() const {
  return fmt::format("{}, {}, eps={}, affine={}", num_groups, num_channels, eps, affine);
}

// ---- layer norm ---------------------------------------------------------------------------

LayerNorm::LayerNorm(std::vector<std::int64_t> shape, double epsilon, bool with_affine)
    : Module("LayerNorm"), normalized_shape(std::move(shape)), eps(epsilon), elementwise_affine(with_affine) {
  if (normalized_shape.empty()) fail<ValueError>("LayerNorm: normalized_shape must have at least one dim, got []");
  for (std::int64_t d : normalized_shape)
    if (d < 0) fail<ValueError>("LayerNorm: normalized_shape {} has a negative dim", str(normalized_shape));
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}

LayerNorm::LayerNorm(std::int64_t shape) : LayerNorm(std::vector<std::int64_t>{shape}) {}

Tensor LayerNorm::forward(const Tensor& input) {
  return layer_norm(input, normalized_shape, weight, bias, {.eps = eps});
}

std::string LayerNorm::extra_repr() const {
  // normalized_shape as Python prints the tuple: (10,) or (2, 3).
  const std::string dims = normalized_shape.size() == 1 ? fmt::format("({},)", normalized_shape[0])
                                                        : fmt::format("({})", fmt::join(normalized_shape, ", "));
  return fmt::format("{}, eps={}, elementwise_affine={}", dims, eps, elementwise_affine);
}

// ---- instance norm ------------------------------------------------------------------------

InstanceNormNd::InstanceNormNd(const char* type_name, std::int64_t unbatched_rank, const char* layout,
                               std::int64_t features, double epsilon, double running_momentum, bool with_affine,
                               bool with_running_stats)
    : Module(type_name),
      num_features(features),
      eps(epsilon),
      momentum(running_momentum),
      affine(with_affine),
      track_running_stats(with_running_stats),
      unbatched_rank_(unbatched_rank),
      layout_(layout) {
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

Tensor InstanceNormNd::forward(const Tensor& input) {
  detail::check_defined(type_name().c_str(), input);
  if (input.dim() != unbatched_rank_ && input.dim() != unbatched_rank_ + 1)
    fail<ShapeError>("{}: expected a {}-D or {}-D input {}, got shape {}", type_name(), unbatched_rank_,
                     unbatched_rank_ + 1, layout_, str(input.shape()));
  const std::int64_t channel_dim = input.dim() - unbatched_rank_;
  if (input.size(channel_dim) != num_features) {
    if (affine)
      fail<ShapeError>("{}: expected {} channels (num_features) at dim {}, got input {}", type_name(), num_features,
                       channel_dim, str(input.shape()));
    detail::logger().warn("{}: the input {} has {} channels at dim {}, not num_features = {} (unused without affine)",
                          type_name(), str(input.shape()), input.size(channel_dim), channel_dim, num_features);
  }
  if (input.dim() == unbatched_rank_) return normalise(input.unsqueeze(0)).squeeze(0);
  return normalise(input);
}

Tensor InstanceNormNd::normalise(const Tensor& input) {
  return instance_norm(input, running_mean, running_var, weight, bias,
                       {.use_input_stats = is_training() || !track_running_stats, .momentum = momentum, .eps = eps});
}

std::string InstanceNormNd::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features, eps, momentum, affine,
                     track_running_stats);
}

InstanceNorm1d::InstanceNorm1d(std::int64_t features, double epsilon, double running_momentum, bool with_affine,
                               bool with_running_stats)
    : InstanceNormNd("InstanceNorm1d", 2, "[N, C, L] or [C, L]", features, epsilon, running_momentum, with_affine,
                     with_running_stats) {}
InstanceNorm2d::InstanceNorm2d(std::int64_t features, double epsilon, double running_momentum, bool with_affine,
                               bool with_running_stats)
    : InstanceNormNd("InstanceNorm2d", 3, "[N, C, H, W] or [C, H, W]", features, epsilon, running_momentum,
                     with_affine, with_running_stats) {}
InstanceNorm3d::InstanceNorm3d(std::int64_t features, double epsilon, double running_momentum, bool with_affine,
                               bool with_running_stats)
    : InstanceNormNd("InstanceNorm3d", 4, "[N, C, D, H, W] or [C, D, H, W]", features, epsilon, running_momentum,
                     with_affine, with_running_stats) {}

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
