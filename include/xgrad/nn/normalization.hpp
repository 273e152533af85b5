#pragma once
/// \file nn/normalization.hpp
/// Normalisation layers, as torch.nn.BatchNorm{1,2,3}d and LocalResponseNorm.
///
///   auto bn = std::make_shared<xgrad::nn::BatchNorm2d>(64);
///   Tensor y = (*bn)(x);   // training: batch statistics, running ones updated
///   bn->eval();            // evaluation: running statistics
///
/// BatchNorm's tensors have torchvision's names: parameters "weight" (gamma,
/// ones) and "bias" (beta, zeros) when affine; buffers "running_mean" (zeros),
/// "running_var" (ones) and "num_batches_tracked" (an i64 scalar, shape []) when
/// track_running_stats.

#include <cstdint>
#include <string>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

/// What BatchNorm1d, BatchNorm2d and BatchNorm3d share.
class BatchNormNd : public Module {
 public:
  /// Training (or no running statistics): normalises with the batch's mean and
  /// biased variance, updates running_mean and running_var (unbiased variance)
  /// with `momentum` and adds 1 to num_batches_tracked. Evaluation: normalises
  /// with the running statistics. A wrong input rank throws ShapeError.
  Tensor forward(const Tensor& input) override;
  /// "64, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true"
  std::string extra_repr() const override;

  const std::int64_t num_features;
  const double eps;
  const double momentum;
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
  BatchNormNd(const char* type_name, InputRanks ranks, std::int64_t num_features, double eps, double momentum,
              bool affine, bool track_running_stats);

 private:
  void check_input(const Tensor& input) const;
  InputRanks ranks_;
};

/// Input [N, C] or [N, C, L].
class BatchNorm1d final : public BatchNormNd {
 public:
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
};

/// Input [N, C, H, W].
class BatchNorm2d final : public BatchNormNd {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
};

/// Input [N, C, D, H, W].
class BatchNorm3d final : public BatchNormNd {
 public:
  explicit BatchNorm3d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
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
