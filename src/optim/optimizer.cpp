#include "xgrad/optim/optimizer.hpp"

#include <charconv>
#include <map>
#include <set>
#include <utility>

#include "util/check.hpp"
#include "xgrad/autograd.hpp"

namespace xgrad::optim {

using detail::fail;
using detail::str;

namespace {

Tensor scalar(double value) { return scalar_tensor(value, {.dtype = f64}); }

bool is_f64_scalar(const Tensor& t) { return t.defined() && t.dim() == 0 && t.dtype() == f64; }

std::string describe(const Tensor& t) {
  return t.defined() ? str(t.shape()) + " " + std::string(dtype_name(t.dtype())) : "undefined";
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : separator) + part;
  return out;
}

/// "state.<index>.<name>" as (index, name); nothing for any other key.
std::optional<std::pair<std::size_t, std::string>> parse_state_key(const std::string& key) {
  const std::string prefix = "state.";
  if (key.rfind(prefix, 0) != 0) return std::nullopt;
  const std::size_t dot = key.find('.', prefix.size());
  if (dot == std::string::npos) return std::nullopt;
  const char* first = key.data() + prefix.size();
  const char* last = key.data() + dot;
  std::size_t index = 0;
  const auto [end, error] = std::from_chars(first, last, index);
  if (error != std::errc() || end != last || first == last) return std::nullopt;
  return std::make_pair(index, key.substr(dot + 1));
}

}  // namespace

Optimizer::Optimizer(std::string name, std::vector<Tensor> params, double lr)
    : name_(std::move(name)), params_(std::move(params)), lr_(lr), state_(params_.size()) {
  require(lr >= 0, "learning rate", lr, "must be >= 0");
  if (params_.empty()) fail<ValueError>("{}: got an empty parameter list", name_);
  std::map<const detail::TensorImpl*, std::size_t> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined()) fail<ValueError>("{}: parameter {} is undefined", name_, i);
    if (!is_floating(p.dtype()))
      fail<DTypeError>("{}: parameter {} (shape {}) has dtype {}; only f32 and f64 tensors can be optimised", name_, i,
                       str(p.shape()), dtype_name(p.dtype()));
    if (!p.is_leaf())
      fail<ValueError>("{}: parameter {} (shape {}) is not a leaf tensor (it was computed by {}); optimisers update "
                       "leaves, such as a module's parameters()",
                       name_, i, str(p.shape()), p.grad_fn()->name());
    if (!p.is_contiguous())
      fail<ValueError>("{}: parameter {} of shape {} with strides {} is not contiguous", name_, i, str(p.shape()),
                       str(p.strides()));
    const auto [it, inserted] = seen.emplace(p.impl().get(), i);
    if (!inserted)
      fail<ValueError>("{}: parameter {} is the same tensor as parameter {}; each parameter may appear only once",
                       name_, i, it->second);
  }
}

void Optimizer::require(bool ok, const char* what, double value, const char* rule) const {
  if (!ok) fail<ValueError>("{}: invalid {} {} ({})", name_, what, value, rule);
}

void Optimizer::set_lr(double lr) {
  require(lr >= 0, "learning rate", lr, "must be >= 0");
  lr_ = lr;
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& param = params_[i];
    const Tensor grad = param.grad();
    if (!grad.defined()) continue;
    if (!grad.is_contiguous())
      fail<ValueError>("{}: the gradient of parameter {} (shape {}, strides {}) is not contiguous", name_, i,
                       str(grad.shape()), str(grad.strides()));
    // An optimiser without per-parameter state (SGD without momentum) sees every
    // step as a first one, which it does not care about.
    const bool first_step = state_[i].empty();
    if (first_step) {
      state_[i] = fresh_state(param);
    } else {
      check_state_dtype(i, state_[i]);
    }
    update(param, grad, state_[i], first_step);
  }
}

std::vector<Tensor> Optimizer::fresh_state(const Tensor& param) const {
  std::vector<Tensor> state;
  for (const StateSlot& slot : state_slots()) state.push_back(slot.scalar ? scalar(0.0) : zeros_like(param));
  return state;
}

// A model converted with to() after the first step leaves its state behind.
void Optimizer::check_state_dtype(std::size_t index, const std::vector<Tensor>& state) const {
  const std::vector<StateSlot> slots = state_slots();
  const DType dtype = params_[index].dtype();
  for (std::size_t k = 0; k < slots.size(); ++k)
    if (!slots[k].scalar && state[k].dtype() != dtype)
      fail<DTypeError>("{}: parameter {} is {} but its {} is {}; convert the model with to() before creating the "
                       "optimiser",
                       name_, index, dtype_name(dtype), slots[k].name, dtype_name(state[k].dtype()));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (const Tensor& p : params_) {
    if (set_to_none) {
      p.set_grad(Tensor());
    } else if (p.grad().defined()) {
      p.grad().zero_();
    }
  }
}

nn::StateDict Optimizer::state_dict() const {
  nn::StateDict out{{"lr", scalar(lr_)}, {"initial_lr", scalar(initial_lr())}};
  const std::vector<StateSlot> slots = state_slots();
  for (std::size_t i = 0; i < state_.size(); ++i)
    for (std::size_t k = 0; k < state_[i].size(); ++k)
      out.emplace_back(fmt::format("state.{}.{}", i, slots[k].name), state_[i][k].detach());
  return out;
}

void Optimizer::load_state_dict(const nn::StateDict& state) {
  const std::vector<StateSlot> slots = state_slots();
  std::vector<std::vector<Tensor>> loaded(params_.size());
  std::map<std::string, double> rates;  // lr, initial_lr
  std::set<std::string> keys;
  std::vector<std::string> problems;

  for (const auto& [key, t] : state) {
    if (!keys.insert(key).second) {
      problems.push_back(key + ": repeated key");
      continue;
    }
    if (key == "lr" || key == "initial_lr") {
      if (is_f64_scalar(t) && t.item() >= 0) {
        rates[key] = t.item();
      } else {
        problems.push_back(fmt::format("{}: expected a non-negative 0-d f64 tensor, got {}", key, describe(t)));
      }
      continue;
    }
    const auto parsed = parse_state_key(key);
    std::size_t slot = 0;
    while (parsed && slot < slots.size() && slots[slot].name != parsed->second) ++slot;
    if (!parsed || parsed->first >= params_.size() || slot == slots.size()) {
      problems.push_back(key + ": unexpected key");
      continue;
    }
    const Tensor& param = params_[parsed->first];
    const Shape expected_shape = slots[slot].scalar ? Shape{} : param.shape();
    const DType expected_dtype = slots[slot].scalar ? f64 : param.dtype();
    if (!t.defined() || t.shape() != expected_shape || t.dtype() != expected_dtype) {
      problems.push_back(fmt::format("{}: expected {} {}, got {}", key, str(expected_shape),
                                     dtype_name(expected_dtype), describe(t)));
      continue;
    }
    std::vector<Tensor>& entry = loaded[parsed->first];
    entry.resize(slots.size());
    entry[slot] = t.detach().clone();
  }
  for (const char* key : {"lr", "initial_lr"})
    if (!keys.count(key)) problems.push_back(std::string(key) + ": missing");
  for (std::size_t i = 0; i < loaded.size(); ++i)
    for (std::size_t k = 0; k < loaded[i].size(); ++k)
      if (!loaded[i][k].defined()) problems.push_back(fmt::format("state.{}.{}: missing", i, slots[k].name));

  if (!problems.empty()) {
    std::vector<std::string> slot_names;
    for (const StateSlot& s : slots) slot_names.push_back(s.name);
    const std::string per_parameter =
        slots.empty() ? "no per-parameter state with these options"
                      : fmt::format("per stepped parameter, state.<index 0..{}>.{{{}}}", params_.size() - 1,
                                    join(slot_names, ", "));
    fail<ValueError>("{}: load_state_dict failed, nothing was loaded: {} (expected lr, initial_lr and {})", name_,
                     join(problems, "; "), per_parameter);
  }
  lr_ = rates.at("lr");
  initial_lr_ = rates.at("initial_lr");
  state_ = std::move(loaded);
}

}  // namespace xgrad::optim
