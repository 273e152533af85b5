#include "xgrad/optim/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

#include "util/check.hpp"

namespace xgrad::optim {

using detail::fail;

namespace {

constexpr const char* own_keys[] = {"last_epoch", "base_lr", "last_lr"};

Tensor scalar(double value) { return scalar_tensor(value, {.dtype = f64}); }

std::string child_prefix(std::size_t index) { return fmt::format("schedulers.{}.", index); }

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : "; ") + part;
  return out;
}

// Why `t` cannot be the value of `key`; empty when it can.
std::string scalar_problem(const std::string& key, const Tensor& t) {
  if (!t.defined() || t.dim() != 0 || t.dtype() != f64)
    return "expected a 0-d f64 tensor, got " +
           (t.defined() ? detail::str(t.shape()) + " " + std::string(dtype_name(t.dtype())) : "undefined");
  const double v = t.item();
  if (!(v >= 0)) return fmt::format("expected a value >= 0, got {}", v);
  if (key == "last_epoch" && v != std::floor(v)) return fmt::format("expected a whole number, got {}", v);
  return "";
}

}  // namespace

// ---- LRScheduler ------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer, std::string name)
    : optimizer_(optimizer), name_(std::move(name)), base_lr_(optimizer.initial_lr()), last_lr_(optimizer.lr()) {
  // As PyTorch's param_group.setdefault("initial_lr", lr): the first scheduler fixes it.
  optimizer.initial_lr_ = base_lr_;
}

void LRScheduler::apply_lr(double lr) {
  optimizer_.set_lr(lr);
  last_lr_ = lr;
}

void LRScheduler::restart() {
  optimizer_.set_lr(base_lr_);
  last_epoch_ = -1;
  step();
}

nn::StateDict LRScheduler::state_dict() const {
  return {{"last_epoch", scalar(static_cast<double>(last_epoch_))},
          {"base_lr", scalar(base_lr_)},
          {"last_lr", scalar(last_lr_)}};
}

void LRScheduler::load_state_dict(const nn::StateDict& state) {
  check_state_dict(state, "");
  restore_state_dict(state);
}

void LRScheduler::check_state_dict(const nn::StateDict& state, const std::string& prefix) const {
  std::vector<std::string> problems;
  std::set<std::string> seen;
  for (const auto& [key, t] : state) {
    const bool known = std::find(std::begin(own_keys), std::end(own_keys), key) != std::end(own_keys);
    if (!known) {
      problems.push_back(prefix + key + ": unexpected key");
    } else if (!seen.insert(key).second) {
      problems.push_back(prefix + key + ": repeated key");
    } else if (const std::string problem = scalar_problem(key, t); !problem.empty()) {
      problems.push_back(prefix + key + ": " + problem);
    }
  }
  for (const char* key : own_keys)
    if (!seen.count(key)) problems.push_back(prefix + key + ": missing");
  if (!problems.empty())
    fail<ValueError>("{}: load_state_dict failed, nothing was loaded: {}", name_, join(problems));
}

void LRScheduler::restore_state_dict(const nn::StateDict& state) {
  for (const auto& [key, t] : state) {
    if (key == "last_epoch") last_epoch_ = static_cast<std::int64_t>(t.item());
    if (key == "base_lr") base_lr_ = t.item();
    if (key == "last_lr") last_lr_ = t.item();
  }
}

// ---- StepLR -------------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) fail<ValueError>("StepLR: step_size must be >= 1, got {}", step_size);
  if (!(gamma >= 0)) fail<ValueError>("StepLR: gamma must be >= 0, got {}", gamma);
  step();
}

void StepLR::step() {
  ++last_epoch_;
  const bool decay = last_epoch_ > 0 && last_epoch_ % step_size_ == 0;
  apply_lr(decay ? optimizer_.lr() * gamma_ : optimizer_.lr());
}

// ---- MultiStepLR --------------------------------------------------------------------

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
  if (!(gamma >= 0)) fail<ValueError>("MultiStepLR: gamma must be >= 0, got {}", gamma);
  step();
}

void MultiStepLR::step() {
  ++last_epoch_;
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  apply_lr(hits == 0 ? optimizer_.lr() : optimizer_.lr() * std::pow(gamma_, static_cast<double>(hits)));
}

// ---- CosineAnnealingLR --------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min)
    : LRScheduler(optimizer, "CosineAnnealingLR"), t_max_(t_max), eta_min_(eta_min) {
  if (t_max < 1) fail<ValueError>("CosineAnnealingLR: T_max must be >= 1, got {}", t_max);
  if (!(eta_min >= 0)) fail<ValueError>("CosineAnnealingLR: eta_min must be >= 0, got {}", eta_min);
  step();
}

void CosineAnnealingLR::step() {
  ++last_epoch_;
  const double phase = std::numbers::pi * static_cast<double>(last_epoch_) / static_cast<double>(t_max_);
  apply_lr(eta_min_ + (base_lr_ - eta_min_) * (1 + std::cos(phase)) / 2);
}

// ---- LinearLR -----------------------------------------------------------------------

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, std::int64_t total_iters)
    : LRScheduler(optimizer, "LinearLR"),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  if (!(start_factor > 0 && start_factor <= 1))
    fail<ValueError>("LinearLR: start_factor must be in (0, 1], got {}", start_factor);
  if (!(end_factor >= 0 && end_factor <= 1))
    fail<ValueError>("LinearLR: end_factor must be in [0, 1], got {}", end_factor);
  if (total_iters < 1) fail<ValueError>("LinearLR: total_iters must be >= 1, got {}", total_iters);
  step();
}

void LinearLR::step() {
  ++last_epoch_;
  const double lr = optimizer_.lr();
  if (last_epoch_ == 0) {
    apply_lr(lr * start_factor_);
  } else if (last_epoch_ > total_iters_) {
    apply_lr(lr);
  } else {
    // factor(e) = start + (end - start) * e / total; the lr moves by factor(e) / factor(e - 1).
    const double change = end_factor_ - start_factor_;
    const double previous = static_cast<double>(total_iters_) * start_factor_ +
                            static_cast<double>(last_epoch_ - 1) * change;  // total * factor(e - 1)
    apply_lr(lr * (1.0 + change / previous));
  }
}

// ---- SequentialLR -------------------------------------------------------------------

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<std::int64_t> milestones)
    : LRScheduler(optimizer, "SequentialLR"), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  if (schedulers_.empty()) fail<ValueError>("SequentialLR: needs at least one scheduler");
  for (std::size_t i = 0; i < schedulers_.size(); ++i) {
    if (!schedulers_[i]) fail<ValueError>("SequentialLR: scheduler {} is null", i);
    if (&schedulers_[i]->optimizer() != &optimizer)
      fail<ValueError>("SequentialLR: scheduler {} ({}) drives a different optimiser", i, schedulers_[i]->name());
  }
  if (milestones_.size() != schedulers_.size() - 1)
    fail<ValueError>("SequentialLR: {} schedulers need {} milestones, got {} ({})", schedulers_.size(),
                     schedulers_.size() - 1, milestones_.size(), milestones_);
  for (std::size_t i = 0; i < milestones_.size(); ++i)
    if (milestones_[i] < 1 || (i > 0 && milestones_[i] <= milestones_[i - 1]))
      fail<ValueError>("SequentialLR: milestones must be positive and increasing, got {}", milestones_);
  restart();
}

// As PyTorch: back to the initial lr, and the first scheduler takes its first step.
void SequentialLR::restart() {
  last_epoch_ = 0;
  schedulers_.front()->restart();
  last_lr_ = schedulers_.front()->get_last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  const auto index = static_cast<std::size_t>(
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin());
  LRScheduler& active = *schedulers_[index];
  if (index > 0 && milestones_[index - 1] == last_epoch_) {
    active.restart();
  } else {
    active.step();
  }
  last_lr_ = active.get_last_lr();
}

nn::StateDict SequentialLR::state_dict() const {
  nn::StateDict out = LRScheduler::state_dict();
  for (std::size_t k = 0; k < schedulers_.size(); ++k)
    for (const auto& [key, t] : schedulers_[k]->state_dict()) out.emplace_back(child_prefix(k) + key, t);
  return out;
}

std::vector<nn::StateDict> SequentialLR::split_state(const nn::StateDict& state) const {
  std::vector<nn::StateDict> parts(schedulers_.size() + 1);  // [0]: own entries; [k + 1]: scheduler k's
  for (const auto& [key, t] : state) {
    std::size_t part = 0;
    for (std::size_t k = 0; k < schedulers_.size() && part == 0; ++k) {
      const std::string prefix = child_prefix(k);
      if (key.rfind(prefix, 0) == 0) {
        parts[k + 1].emplace_back(key.substr(prefix.size()), t);
        part = k + 1;
      }
    }
    if (part == 0) parts[0].emplace_back(key, t);
  }
  return parts;
}

void SequentialLR::check_state_dict(const nn::StateDict& state, const std::string& prefix) const {
  const std::vector<nn::StateDict> parts = split_state(state);
  LRScheduler::check_state_dict(parts[0], prefix);
  for (std::size_t k = 0; k < schedulers_.size(); ++k)
    schedulers_[k]->check_state_dict(parts[k + 1], prefix + child_prefix(k));
}

void SequentialLR::restore_state_dict(const nn::StateDict& state) {
  const std::vector<nn::StateDict> parts = split_state(state);
  LRScheduler::restore_state_dict(parts[0]);
  for (std::size_t k = 0; k < schedulers_.size(); ++k) schedulers_[k]->restore_state_dict(parts[k + 1]);
}

}  // namespace xgrad::optim
