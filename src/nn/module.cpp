#include "xgrad/nn/module.hpp"

#include <set>
#include <unordered_map>

#include "tensor/tensor_impl.hpp"
#include "ops/elementwise.hpp"
#include "util/check.hpp"
#include "xgrad/autograd.hpp"

namespace xgrad::nn {

using detail::fail;
using detail::str;

namespace {

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Gives `t` a new dtype in place, so every handle to it (module members, the
// registry, optimisers) sees the converted values.
void retype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return;
  const Tensor converted = detail::copy_as(t, dtype);
  detail::TensorImpl& impl = *t.impl();
  impl.storage = converted.impl()->storage;
  impl.strides = converted.strides();
  impl.offset = 0;
  impl.dtype = dtype;
  impl.grad = Tensor();
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

Tensor Module::forward(const Tensor&) {
  fail<Error>("{}: this module has no forward(); call its submodules instead", type_name_);
}

std::int64_t Module::macs(const Tensor&, const Tensor&) const { return 0; }

Tensor Module::operator()(const Tensor& input) {
  Tensor output = forward(input);
  for (auto& [id, hook] : hooks_) hook(*this, input, output);
  return output;
}

void Module::check_new_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    fail<ValueError>("{}: invalid name \"{}\" (must be non-empty and contain no '.')", type_name_, name);
  bool taken = false;
  for (const auto& [n, t] : parameters_) taken = taken || n == name;
  for (const auto& b : buffers_) taken = taken || b.name == name;
  for (const auto& [n, m] : children_) taken = taken || n == name;
  if (taken) fail<ValueError>("{}: \"{}\" is already registered", type_name_, name);
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name);
  detail::check_defined("register_parameter", tensor, name.c_str());
  if (!is_floating(tensor.dtype()))
    fail<DTypeError>("{}: parameter \"{}\" must be floating point, got {}", type_name_, name,
                     dtype_name(tensor.dtype()));
  if (!tensor.is_leaf()) tensor = tensor.detach();
  tensor.requires_grad_(requires_grad);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor, bool persistent) {
  check_new_name(name);
  detail::check_defined("register_buffer", tensor, name.c_str());
  if (tensor.requires_grad()) tensor = tensor.detach();
  buffers_.push_back({name, tensor, persistent});
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  if (!module) fail<ValueError>("{}: submodule \"{}\" is null", type_name_, name);
  children_.emplace_back(name, std::move(module));
}

StateDict Module::named_parameters(bool recurse) const {
  StateDict out;
  std::set<const detail::TensorImpl*> seen;  // a shared (tied) parameter is listed once
  std::function<void(const Module&, const std::string&)> visit = [&](const Module& m, const std::string& prefix) {
    for (const auto& [name, t] : m.parameters_)
      if (seen.insert(t.impl().get()).second) out.emplace_back(join(prefix, name), t);
    if (recurse)
      for (const auto& [name, child] : m.children_) visit(*child, join(prefix, name));
  };
  visit(*this, "");
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

StateDict Module::named_buffers(bool recurse) const {
  StateDict out;
  std::function<void(const Module&, const std::string&)> visit = [&](const Module& m, const std::string& prefix) {
    for (const auto& b : m.buffers_) out.emplace_back(join(prefix, b.name), b.tensor);
    if (recurse)
      for (const auto& [name, child] : m.children_) visit(*child, join(prefix, name));
  };
  visit(*this, "");
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::function<void(const std::shared_ptr<Module>&, const std::string&)> visit =
      [&](const std::shared_ptr<Module>& m, const std::string& prefix) {
        out.emplace_back(prefix, m);
        for (const auto& [name, child] : m->children_) visit(child, join(prefix, name));
      };
  // `this` may not be owned by a shared_ptr (a module on the stack): alias it without ownership.
  std::shared_ptr<Module> self = weak_from_this().lock();
  if (!self) self = std::shared_ptr<Module>(std::shared_ptr<Module>(), this);
  visit(self, "");
  return out;
}

std::shared_ptr<Module> Module::find(const std::string& dotted_name) {
  std::vector<std::string> names;
  for (auto& [name, module] : named_modules()) {
    if (name == dotted_name) return module;
    if (!name.empty()) names.push_back(name);
  }
  fail<ValueError>("{}: no submodule named \"{}\"; valid names: {}", type_name_, dotted_name, list(names));
}

void Module::train(bool on) {
  training_ = on;
  on_train(on);
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (const Tensor& p : parameters()) {
    if (set_to_none) {
      p.set_grad(Tensor());
    } else if (p.grad().defined()) {
      p.grad().zero_();
    }
  }
}

void Module::to(DType dtype) {
  if (!is_floating(dtype)) fail<DTypeError>("{}: to() needs a floating dtype, got {}", type_name_, dtype_name(dtype));
  for (const Tensor& p : parameters()) retype(p, dtype);
  for (const Tensor& b : buffers())
    if (is_floating(b.dtype())) retype(b, dtype);
}

StateDict Module::state_dict() const {
  StateDict out;
  std::function<void(const Module&, const std::string&)> visit = [&](const Module& m, const std::string& prefix) {
    for (const auto& [name, t] : m.parameters_) out.emplace_back(join(prefix, name), t.detach());
    for (const auto& b : m.buffers_)
      if (b.persistent) out.emplace_back(join(prefix, b.name), b.tensor.detach());
    for (const auto& [name, child] : m.children_) visit(*child, join(prefix, name));
  };
  visit(*this, "");
  return out;
}

LoadResult Module::load_state_dict(const StateDict& state, bool strict) {
  const StateDict own = state_dict();
  std::unordered_map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state) given[name] = &t;
  std::unordered_map<std::string, bool> known;
  for (const auto& [name, t] : own) known[name] = true;

  LoadResult result;
  std::vector<std::string> mismatched;
  for (const auto& [name, t] : own) {
    auto it = given.find(name);
    if (it == given.end()) {
      result.missing_keys.push_back(name);
      continue;
    }
    const Tensor& source = *it->second;
    if (!source.defined() || source.shape() != t.shape() || source.dtype() != t.dtype())
      mismatched.push_back(fmt::format("{} (expected {} {}, got {})", name, str(t.shape()), dtype_name(t.dtype()),
                                       source.defined() ? str(source.shape()) + " " +
                                                              std::string(dtype_name(source.dtype()))
                                                        : std::string("undefined")));
  }
  for (const auto& [name, t] : state)
    if (!known.count(name)) result.unexpected_keys.push_back(name);

  std::vector<std::string> problems;
  if (!mismatched.empty()) problems.push_back("wrong shape or dtype: " + list(mismatched));
  if (strict && !result.missing_keys.empty()) problems.push_back("missing: " + list(result.missing_keys));
  if (strict && !result.unexpected_keys.empty()) problems.push_back("unexpected: " + list(result.unexpected_keys));
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += "; " + p;
    fail<ValueError>("{}: load_state_dict failed, nothing was loaded{}", type_name_, message);
  }

  NoGradGuard no_grad;
  for (const auto& [name, t] : own) {
    auto it = given.find(name);
    if (it != given.end()) Tensor(t).copy_(*it->second);
  }
  return result;
}

int Module::register_forward_hook(ForwardHook hook) {
  hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

void Module::remove_forward_hook(int id) {
  std::erase_if(hooks_, [id](const auto& h) { return h.first == id; });
}

}  // namespace xgrad::nn
