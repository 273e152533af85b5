#pragma once
/// \file nn/loss.hpp
/// Loss modules, as torch.nn's: each holds the options struct of its functional
/// loss (ops/loss.hpp) and calls it. Like LibTorch's, their forward takes
/// (input, target):
///
///   auto criterion = std::make_shared<xgrad::nn::CrossEntropyLoss>(
///       xgrad::CrossEntropyOptions{.weight = class_weights, .label_smoothing = 0.1});
///   Tensor loss = (*criterion)(logits, labels);
///
/// A weight (and BCEWithLogitsLoss's pos_weight) is registered as a buffer of that
/// name, as PyTorch does: state_dict, load_state_dict and to() see it, and
/// `options.weight` is the registered tensor. A loss is a Module, but not a
/// one-input layer: forward(input) alone (reached through a Module reference,
/// e.g. in a Sequential) throws Error saying it needs a target. Forward hooks,
/// which see one input, do not run for losses.

#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/ops/loss.hpp"

namespace xgrad::nn {

/// The base of the loss modules (PyTorch's _Loss).
class Loss : public Module {
 public:
  using Module::Module;
  /// The loss of `input` against `target`.
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  /// Throws Error: a loss needs a target.
  Tensor forward(const Tensor& input) override;
};

class NLLLoss final : public Loss {
 public:
  explicit NLLLoss(NllLossOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  /// The options that differ from the defaults, e.g. "ignore_index=0, reduction='sum'"
  std::string extra_repr() const override;
  NllLossOptions options;
};

class CrossEntropyLoss final : public Loss {
 public:
  explicit CrossEntropyLoss(CrossEntropyOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  CrossEntropyOptions options;
};

class MSELoss final : public Loss {
 public:
  explicit MSELoss(MseLossOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  MseLossOptions options;
};

class L1Loss final : public Loss {
 public:
  explicit L1Loss(L1LossOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  L1LossOptions options;
};

class SmoothL1Loss final : public Loss {
 public:
  explicit SmoothL1Loss(SmoothL1LossOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  SmoothL1LossOptions options;
};

class HuberLoss final : public Loss {
 public:
  explicit HuberLoss(HuberLossOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  HuberLossOptions options;
};

class BCELoss final : public Loss {
 public:
  explicit BCELoss(BinaryCrossEntropyOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  BinaryCrossEntropyOptions options;
};

class BCEWithLogitsLoss final : public Loss {
 public:
  explicit BCEWithLogitsLoss(BinaryCrossEntropyWithLogitsOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  BinaryCrossEntropyWithLogitsOptions options;
};

class KLDivLoss final : public Loss {
 public:
  explicit KLDivLoss(KlDivOptions options = {});
  using Loss::forward;
  Tensor forward(const Tensor& input, const Tensor& target) override;
  std::string extra_repr() const override;
  KlDivOptions options;
};

}  // namespace xgrad::nn
