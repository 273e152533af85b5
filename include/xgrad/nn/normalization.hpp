#pragma once
/// \file nn/normalization.hpp
/// Normalisation layers, as torch.nn.BatchNorm{1,2,3}d, GroupNorm, LayerNorm,
/// InstanceNorm{1,2,3}d and LocalResponseNorm.
///
///   auto bn = std::make_shared<xgrad::nn::BatchNorm2d>(64);
///   Tensor y = (*bn)(x);   // training: batch statistics, running ones updated
///   bn->eval();            // evaluation: running statistics
///
/// BatchNorm's tensors have torchvision's names: parameters "weight" (gamma,
/// ones) and "bias" (beta, zeros) when affine; buffers "running_mean" (zeros),
/// "running_var" (ones) and "num_batches_tracked" (an i64 scalar, shape []) when
/// track_running_stats. InstanceNorm has the same tensors (but affine and
/// track_running_stats default to false); GroupNorm and LayerNorm have "weight"
/// (ones) and "bias" (zeros) when affine.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

/// What BatchNorm1d, BatchNorm2d and BatchNorm3d share.
class BatchNormNd : public Module {
 public:
  /// Training (or no running statistics): normalises with the batch's mean and
  /// biased variance, adds 1 to num_batches_tracked and updates running_mean and
  /// running_var (unbiased variance) with `momentum`, or, when momentum is
  /// std::nullopt (PyTorch's None), with 1 / num_batches_tracked (a cumulative
  /// moving average). Evaluation: normalises with the running statistics. A
  /// wrong input rank throws ShapeError.
  Tensor forward(const Tensor& input) override;
  /// "64, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true" (momentum=None without one)
  std::string extra_repr() const override;

  const std::int64_t num_features;
  const double eps;
  const std::optional<double> momentum;  ///< std::nullopt: cumulative moving average
  const bool affine;
  const bool track_running_stats;
  Tensor weight;               ///< [num_features]; undefined unless affine
  Tensor bias;                 ///< [num_features]; undefined unless affine
  Tensor running_mean;         ///< [num_features]; undefined unless track_running_stats
  Tensor running_var;          ///< [num_features]; undefined unless track_running_stats
  Tensor num_batches_tracked;  ///< i64, shape []; undefined unless track_running_stats

 protected:
  /// Inputs must have min_rank to max_rank dims, laid out as `layout` (for errors).
  struct InputRanks {
    std::int64_t min_rank, max_rank;
    const char* layout;
  };
  BatchNormNd(const char* type_name, InputRanks ranks, std::int64_t num_features, double eps,
              std::optional<double> momentum, bool affine, bool track_running_stats);

 private:
  void check_input(const Tensor& input) const;
  InputRanks ranks_;
};

/// Input [N, C] or [N, C, L].
class BatchNorm1d final : public BatchNormNd {
 public:
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true);
};

/// Input [N, C, H, W].
class BatchNorm2d final : public BatchNormNd {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true);
};

/// Input [N, C, D, H, W].
class BatchNorm3d final : public BatchNormNd {
 public:
  explicit BatchNorm3d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true);
};

/// Group normalisation (see xgrad::group_norm): input [N, C, *], C = num_channels
/// divisible by num_groups (else the constructor throws ValueError).
class GroupNorm final : public Module {
 public:
  explicit GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& input) override;
  /// "2, 6, eps=1e-05, affine=true"
  std::string extra_repr() const override;

  const std::int64_t num_groups;
  const std::int64_t num_channels;
  const double eps;
  const bool affine;
  Tensor weight;  ///< [num_channels], ones; undefined unless affine
  Tensor bias;    ///< [num_channels], zeros; undefined unless affine
};

/// Layer normalisation over the trailing dims normalized_shape (see xgrad::layer_norm).
class LayerNorm final : public Module {
 public:
  explicit LayerNorm(std::vector<std::int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  /// The last dim alone, with the defaults (LayerNorm({10}, eps) for another eps: an
  /// overload with more parameters would make LayerNorm({2, 3}) ambiguous).
  explicit LayerNorm(std::int64_t normalized_shape);
  Tensor forward(const Tensor& input) override;
  /// "(10,), eps=1e-05, elementwise_affine=true"
  std::string extra_repr() const override;

  const std::vector<std::int64_t> normalized_shape;
  const double eps;
  const bool elementwise_affine;
  Tensor weight;  ///< normalized_shape, ones; undefined unless elementwise_affine
  Tensor bias;    ///< normalized_shape, zeros; undefined unless elementwise_affine
};

/// What InstanceNorm1d, InstanceNorm2d and InstanceNorm3d share.
class InstanceNormNd : public Module {
 public:
  /// Normalises each (sample, channel) with its own statistics in training or
  /// without running statistics, updating running_mean and running_var (when
  /// tracked) with the mean over the batch and `momentum` (num_batches_tracked
  /// is not counted, as in PyTorch); in evaluation with running statistics, with
  /// those. An input without the batch dim ([C, L] for InstanceNorm1d, ...) is
  /// normalised as a batch of one. A wrong rank throws ShapeError, and so does a
  /// channel count other than num_features when affine (without affine it is
  /// logged as a warning, as PyTorch warns, unless running statistics make it an error).
  Tensor forward(const Tensor& input) override;
  /// "3, eps=1e-05, momentum=0.1, affine=false, track_running_stats=false"
  std::string extra_repr() const override;

  const std::int64_t num_features;
  const double eps;
  const double momentum;
  const bool affine;
  const bool track_running_stats;
  Tensor weight;               ///< [num_features], ones; undefined unless affine
  Tensor bias;                 ///< [num_features], zeros; undefined unless affine
  Tensor running_mean;         ///< [num_features], zeros; undefined unless track_running_stats
  Tensor running_var;          ///< [num_features], ones; undefined unless track_running_stats
  Tensor num_batches_tracked;  ///< i64, shape [], 0; undefined unless track_running_stats

 protected:
  /// `unbatched_rank`: the rank of an input without the batch dim (2 for 1d);
  /// `layout` names the two accepted layouts (for errors).
  InstanceNormNd(const char* type_name, std::int64_t unbatched_rank, const char* layout, std::int64_t num_features,
                 double eps, double momentum, bool affine, bool track_running_stats);

 private:
  Tensor normalise(const Tensor& input);
  std::int64_t unbatched_rank_;
  const char* layout_;
};

/// Input [N, C, L] or [C, L].
class InstanceNorm1d final : public InstanceNormNd {
 public:
  explicit InstanceNorm1d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                          bool track_running_stats = false);
};

/// Input [N, C, H, W] or [C, H, W].
class InstanceNorm2d final : public InstanceNormNd {
 public:
  explicit InstanceNorm2d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                          bool track_running_stats = false);
};

/// Input [N, C, D, H, W] or [C, D, H, W].
class InstanceNorm3d final : public InstanceNormNd {
 public:
  explicit InstanceNorm3d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                          bool track_running_stats = false);
};

/// AlexNet's normalisation across channels (see xgrad::local_response_norm).
class LocalResponseNorm final : public Module {
 public:
  explicit LocalResponseNorm(std::int64_t size, double alpha = 1e-4, double beta = 0.75, double k = 1.0);
  Tensor forward(const Tensor& input) override;
  /// "5, alpha=0.0001, beta=0.75, k=2"
  std::string extra_repr() const override;

  const std::int64_t size;
  const double alpha;
  const double beta;
  const double k;
};

}  // namespace xgrad::nn
