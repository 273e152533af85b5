#include "xgrad/nn/loss.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "util/check.hpp"

namespace xgrad::nn {

namespace {

// "a=1, b='x'" of the settings that differ from the defaults.
class Repr {
 public:
  Repr& reduction(Reduction r) {
    if (r != Reduction::mean) parts_.push_back(fmt::format("reduction='{}'", reduction_name(r)));
    return *this;
  }
  template <class T>
  Repr& add(const char* name, const T& value, const T& default_value) {
    if (value != default_value) parts_.push_back(fmt::format("{}={}", name, value));
    return *this;
  }
  Repr& weight(const char* name, const Tensor& w) {
    if (w.defined()) parts_.push_back(fmt::format("{}={}", name, detail::str(w.shape())));
    return *this;
  }
  std::string str() const { return fmt::format("{}", fmt::join(parts_, ", ")); }

 private:
  std::vector<std::string> parts_;
};

}  // namespace

Tensor Loss::forward(const Tensor&) {
  detail::fail<Error>("{}: a loss takes an input and a target; call forward(input, target) or (*loss)(input, target)",
                      type_name());
}

NLLLoss::NLLLoss(NllLossOptions o) : Loss("NLLLoss"), options(std::move(o)) {
  if (options.weight.defined()) options.weight = register_buffer("weight", options.weight);
}
Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) { return nll_loss(input, target, options); }
std::string NLLLoss::extra_repr() const {
  return Repr().weight("weight", options.weight).add("ignore_index", options.ignore_index, std::int64_t{-100})
      .reduction(options.reduction).str();
}

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyOptions o) : Loss("CrossEntropyLoss"), options(std::move(o)) {
  if (options.weight.defined()) options.weight = register_buffer("weight", options.weight);
}
Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  return cross_entropy(input, target, options);
}
std::string CrossEntropyLoss::extra_repr() const {
  return Repr().weight("weight", options.weight).add("ignore_index", options.ignore_index, std::int64_t{-100})
      .reduction(options.reduction).add("label_smoothing", options.label_smoothing, 0.0).str();
}

MSELoss::MSELoss(MseLossOptions o) : Loss("MSELoss"), options(o) {}
Tensor MSELoss::forward(const Tensor& input, const Tensor& target) { return mse_loss(input, target, options); }
std::string MSELoss::extra_repr() const { return Repr().reduction(options.reduction).str(); }

L1Loss::L1Loss(L1LossOptions o) : Loss("L1Loss"), options(o) {}
Tensor L1Loss::forward(const Tensor& input, const Tensor& target) { return l1_loss(input, target, options); }
std::string L1Loss::extra_repr() const { return Repr().reduction(options.reduction).str(); }

SmoothL1Loss::SmoothL1Loss(SmoothL1LossOptions o) : Loss("SmoothL1Loss"), options(o) {}
Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
  return smooth_l1_loss(input, target, options);
}
std::string SmoothL1Loss::extra_repr() const {
  return Repr().reduction(options.reduction).add("beta", options.beta, 1.0).str();
}

HuberLoss::HuberLoss(HuberLossOptions o) : Loss("HuberLoss"), options(o) {}
Tensor HuberLoss::forward(const Tensor& input, const Tensor& target) { return huber_loss(input, target, options); }
std::string HuberLoss::extra_repr() const {
  return Repr().reduction(options.reduction).add("delta", options.delta, 1.0).str();
}

BCELoss::BCELoss(BinaryCrossEntropyOptions o) : Loss("BCELoss"), options(std::move(o)) {
  if (options.weight.defined()) options.weight = register_buffer("weight", options.weight);
}
Tensor BCELoss::forward(const Tensor& input, const Tensor& target) {
  return binary_cross_entropy(input, target, options);
}
std::string BCELoss::extra_repr() const {
  return Repr().weight("weight", options.weight).reduction(options.reduction).str();
}

BCEWithLogitsLoss::BCEWithLogitsLoss(BinaryCrossEntropyWithLogitsOptions o)
    : Loss("BCEWithLogitsLoss"), options(std::move(o)) {
  if (options.weight.defined()) options.weight = register_buffer("weight", options.weight);
  if (options.pos_weight.defined()) options.pos_weight = register_buffer("pos_weight", options.pos_weight);
}
Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return binary_cross_entropy_with_logits(input, target, options);
}
std::string BCEWithLogitsLoss::extra_repr() const {
  return Repr().weight("weight", options.weight).weight("pos_weight", options.pos_weight)
      .reduction(options.reduction).str();
}

KLDivLoss::KLDivLoss(KlDivOptions o) : Loss("KLDivLoss"), options(o) {}
Tensor KLDivLoss::forward(const Tensor& input, const Tensor& target) { return kl_div(input, target, options); }
std::string KLDivLoss::extra_repr() const {
  return Repr().reduction(options.reduction).add("log_target", options.log_target, false).str();
}

}  // namespace xgrad::nn
