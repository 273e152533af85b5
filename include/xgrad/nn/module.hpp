#pragma once
/// \file nn/module.hpp
/// Module: the base of every layer and model. Parameters, buffers and
/// submodules are registered by name, so `named_parameters()` yields dotted
/// names such as `layer1.0.conv1.weight` (torchvision's), and `state_dict()` /
/// `load_state_dict()` map one to one onto PyTorch's.
///
///   struct Net : xgrad::nn::Module {
///     Net() : Module("Net") {
///       fc = register_module("fc", std::make_shared<xgrad::nn::Linear>(4, 2));
///       scale = register_parameter("scale", xgrad::ones({1}));
///     }
///     Tensor forward(const Tensor& x) override { return (*fc)(x) * scale; }
///     std::shared_ptr<xgrad::nn::Linear> fc;
///     Tensor scale;
///   };
///
/// Registered tensors are shared handles: a member and the registry point to
/// the same tensor. Change a parameter's values in place (copy_, add_ under
/// NoGradGuard, load_state_dict); assigning a new Tensor to the member would
/// leave the registry holding the old one.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad::nn {

/// Name → tensor, ordered by registration (as PyTorch's OrderedDict).
using StateDict = std::vector<std::pair<std::string, Tensor>>;

/// What load_state_dict(strict = false) did not match.
struct LoadResult {
  std::vector<std::string> missing_keys;     ///< in the module, not in the dict
  std::vector<std::string> unexpected_keys;  ///< in the dict, not in the module
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  /// `type_name` is what summaries and errors call this module ("Conv2d").
  explicit Module(std::string type_name = "Module");
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The computation. The default throws: containers without one of their own
  /// (a module holding named submodules) are called through their members.
  virtual Tensor forward(const Tensor& input);
  /// forward() plus the forward hooks.
  Tensor operator()(const Tensor& input);

  const std::string& type_name() const { return type_name_; }
  /// The layer's settings for printing, e.g. "3, 64, kernel=[7, 7], stride=[2, 2]".
  virtual std::string extra_repr() const { return ""; }
  /// Multiply-accumulates of one forward from `input` to `output` (for summaries).
  virtual std::int64_t macs(const Tensor& input, const Tensor& output) const;

  // ---- traversal ----------------------------------------------------------------
  std::vector<Tensor> parameters(bool recurse = true) const;
  StateDict named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  StateDict named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// This module (name "") and every descendant, depth first, with dotted names.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules();
  /// The descendant at a dotted name ("layer4.1.conv2"); throws ValueError
  /// listing the valid names when there is none.
  std::shared_ptr<Module> find(const std::string& dotted_name);

  // ---- modes and gradients -------------------------------------------------------
  /// Training mode for this module and all descendants (dropout, batch norm).
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Clears every parameter's gradient (set_to_none) or zeroes it in place.
  void zero_grad(bool set_to_none = true);
  /// Converts parameters and floating buffers to `dtype` in place of the old
  /// ones (f32 <-> f64), keeping requires_grad.
  void to(DType dtype);

  // ---- weights -------------------------------------------------------------------
  /// Parameters and persistent buffers by dotted name (detached views: values
  /// are shared, no autograd).
  StateDict state_dict() const;
  /// Copies values into the registered tensors (in place: handles stay valid).
  /// Strict: missing, unexpected, wrongly shaped or wrongly typed entries throw
  /// ValueError naming every offending key (and nothing is changed). Non-strict:
  /// shape and dtype mismatches still throw; missing/unexpected keys are returned.
  LoadResult load_state_dict(const StateDict& state, bool strict = true);

  // ---- hooks -----------------------------------------------------------------------
  using ForwardHook = std::function<void(Module& module, const Tensor& input, const Tensor& output)>;
  /// Called after every forward through operator(); returns an id for removal.
  int register_forward_hook(ForwardHook hook);
  void remove_forward_hook(int id);

  // ---- registration (for subclasses) -----------------------------------------------
  /// Registers a parameter (made a leaf that requires grad) and returns it.
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  /// Registers a buffer (e.g. running statistics); persistent ones go into state_dict.
  Tensor register_buffer(const std::string& name, Tensor tensor, bool persistent = true);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 protected:
  /// Called by train(); layers with mode-dependent state may override.
  virtual void on_train(bool) {}

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name) const;

  struct Buffer {
    std::string name;
    Tensor tensor;
    bool persistent;
  };

  std::string type_name_;
  bool training_ = true;
  StateDict parameters_;
  std::vector<Buffer> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<int, ForwardHook>> hooks_;
  int next_hook_id_ = 0;
};

}  // namespace xgrad::nn
