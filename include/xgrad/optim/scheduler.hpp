#pragma once
/// \file optim/scheduler.hpp
/// Learning-rate schedulers with PyTorch's semantics. Creating one sets the
/// optimiser's lr for epoch 0; call step() once per epoch, after that epoch's
/// optimiser steps:
///
///   xgrad::optim::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9});
///   xgrad::optim::SequentialLR sched(opt, {std::make_shared<xgrad::optim::LinearLR>(opt, 0.1, 1.0, 5),
///                                          std::make_shared<xgrad::optim::CosineAnnealingLR>(opt, 95)},
///                                    {5});
///   for (int epoch = 0; epoch < 100; ++epoch) { train_one_epoch(opt); sched.step(); }
///
/// The base lr is the optimiser's initial_lr(): its lr when the first scheduler
/// was attached. StepLR, MultiStepLR and LinearLR use PyTorch's chainable form
/// (each step scales the optimiser's current lr, so they compose with other
/// changes to it); CosineAnnealingLR uses the closed form
/// eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2.
/// A scheduler keeps a reference to its optimiser, which must outlive it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/optim/optimizer.hpp"

namespace xgrad::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Moves to the next epoch and sets the optimiser's lr for it.
  virtual void step() = 0;
  /// The lr this scheduler set last.
  double get_last_lr() const { return last_lr_; }
  /// The current epoch (0 after construction).
  std::int64_t last_epoch() const { return last_epoch_; }
  double base_lr() const { return base_lr_; }
  Optimizer& optimizer() const { return optimizer_; }
  const std::string& name() const { return name_; }

  /// "last_epoch", "base_lr" and "last_lr" as 0-d f64 tensors.
  virtual nn::StateDict state_dict() const;
  /// Restores what state_dict() returned; throws ValueError naming each missing,
  /// unexpected or malformed key, changing nothing. (The optimiser's own
  /// state_dict restores its lr.)
  void load_state_dict(const nn::StateDict& state);

 protected:
  /// Attaches to `optimizer`, fixing its initial_lr() if no scheduler did yet.
  LRScheduler(Optimizer& optimizer, std::string name);

  /// Starts over at epoch 0 from the base lr (SequentialLR does this at a milestone).
  virtual void restart();
  /// Sets the optimiser's lr and remembers it as the last lr.
  void apply_lr(double lr);

  /// Throws ValueError naming every problem in `state` (keys shown after `prefix`).
  virtual void check_state_dict(const nn::StateDict& state, const std::string& prefix) const;
  /// Takes the values of a state that check_state_dict accepted.
  virtual void restore_state_dict(const nn::StateDict& state);

  Optimizer& optimizer_;
  std::string name_;
  double base_lr_;
  std::int64_t last_epoch_ = -1;
  double last_lr_;

 private:
  friend class SequentialLR;  // restarts the scheduler it switches to
};

/// Multiplies the lr by gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  /// Throws ValueError unless step_size >= 1.
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  void step() override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// Multiplies the lr by gamma at each milestone epoch (a milestone listed k times
/// multiplies by gamma^k, as PyTorch's Counter of milestones).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);
  void step() override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

/// Cosine annealing from the base lr down to eta_min over t_max epochs (and back
/// up over the next t_max, as PyTorch's), in closed form.
class CosineAnnealingLR : public LRScheduler {
 public:
  /// Throws ValueError unless t_max (PyTorch's T_max) >= 1.
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min = 0.0);
  void step() override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// Scales the lr by a factor going linearly from start_factor (epoch 0) to
/// end_factor (epoch total_iters), then leaves it: the usual linear warm-up.
class LinearLR : public LRScheduler {
 public:
  /// Throws ValueError unless 0 < start_factor <= 1, 0 <= end_factor <= 1 and total_iters >= 1.
  explicit LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
                    std::int64_t total_iters = 5);
  void step() override;

 private:
  double start_factor_;
  double end_factor_;
  std::int64_t total_iters_;
};

/// Runs schedulers one after another: schedulers[i] drives epochs
/// [milestones[i-1], milestones[i]) and starts over from the base lr at its
/// milestone (PyTorch's SequentialLR, e.g. warm-up then cosine).
class SequentialLR : public LRScheduler {
 public:
  /// The schedulers must all drive `optimizer`; milestones must be increasing,
  /// positive and one fewer than the schedulers (else ValueError).
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);
  void step() override;
  /// Its own entries plus each scheduler's under "schedulers.<index>.".
  nn::StateDict state_dict() const override;

 protected:
  void restart() override;
  void check_state_dict(const nn::StateDict& state, const std::string& prefix) const override;
  void restore_state_dict(const nn::StateDict& state) override;

 private:
  /// `state` split into this scheduler's own entries and each child's (prefix removed).
  std::vector<nn::StateDict> split_state(const nn::StateDict& state) const;

  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<std::int64_t> milestones_;
};

}  // namespace xgrad::optim
