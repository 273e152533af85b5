#pragma once
/// \file optim/optimizer.hpp
/// Optimizer: the base of SGD, Adam and AdamW. It holds the very tensor handles a
/// Module's parameters() returns and updates them in place, so the module sees
/// the new values without any copying back:
///
///   xgrad::optim::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9});
///   for (auto& [x, y] : batches) {
///     opt.zero_grad();
///     xgrad::cross_entropy(net->forward(x), y).backward();
///     opt.step();
///   }
///
/// Each parameter gets its state (momentum buffer, running averages) at its
/// first step. state_dict() lists the learning rate and that state by name, so
/// an optimiser restored into a fresh instance continues bit for bit.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Updates every parameter that has a gradient, in place and without recording
  /// (parameters whose grad() is undefined are skipped, as in PyTorch).
  void step();
  /// Clears every parameter's gradient (set_to_none) or zeroes it in place.
  void zero_grad(bool set_to_none = true);

  double lr() const { return lr_; }
  /// Sets the learning rate (schedulers call this); throws ValueError if negative.
  void set_lr(double lr);
  /// The learning rate schedulers count from (PyTorch's "initial_lr"): the lr when
  /// the first scheduler was attached to this optimiser, or as restored by
  /// load_state_dict; lr() until then.
  double initial_lr() const { return initial_lr_.value_or(lr_); }

  const std::vector<Tensor>& params() const { return params_; }
  /// "SGD", "Adam", ... (as errors name it).
  const std::string& name() const { return name_; }

  /// "lr" and "initial_lr", then each stepped parameter's state as
  /// "state.<param index>.<name>" (e.g. "state.0.momentum_buffer",
  /// "state.3.exp_avg"). Scalars are 0-d f64 tensors; the state tensors are
  /// detached views that share values with the optimiser (save them before the
  /// next step).
  nn::StateDict state_dict() const;
  /// Restores what state_dict() returned (copies the values). Checks every key,
  /// shape and dtype against this optimiser's parameters and settings first and
  /// throws ValueError naming each offending key, changing nothing.
  void load_state_dict(const nn::StateDict& state);

 protected:
  /// Checks the parameters: a non-empty list of distinct, contiguous,
  /// floating-point leaf tensors. `name` is what errors call the optimiser.
  Optimizer(std::string name, std::vector<Tensor> params, double lr);

  /// One entry of a parameter's state: a 0-d f64 counter (`scalar`) or a tensor
  /// with the parameter's shape and dtype.
  struct StateSlot {
    std::string name;
    bool scalar = false;
  };
  /// The state every parameter carries, in order (fixed by the options).
  virtual std::vector<StateSlot> state_slots() const = 0;
  /// Updates `param` in place from `grad` (contiguous, same shape and dtype).
  /// `state` holds the tensors state_slots() lists; at the parameter's first step
  /// (`first_step`) they are fresh zeros.
  virtual void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& state, bool first_step) = 0;

  /// Throws ValueError "<name>: invalid <what> <value> (<rule>)" unless `ok`.
  void require(bool ok, const char* what, double value, const char* rule) const;

 private:
  friend class LRScheduler;  // fixes initial_lr_ when the first scheduler attaches

  std::vector<Tensor> fresh_state(const Tensor& param) const;
  void check_state_dtype(std::size_t index, const std::vector<Tensor>& state) const;

  std::string name_;
  std::vector<Tensor> params_;
  double lr_;
  std::optional<double> initial_lr_;
  std::vector<std::vector<Tensor>> state_;  // per parameter; empty until its first step
};

}  // namespace xgrad::optim
