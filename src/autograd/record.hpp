#pragma once
// Internal: the light way built-in ops record themselves on the tape.
//
//   Tensor out = ...compute...;
//   if (!detail::any_requires_grad({a, b})) return out;
//   return detail::record("MulBackward", {a, b}, out,
//       [sa = SavedTensor(a), sb = SavedTensor(b)](const BackwardArgs& args) {
//         // grad [*out] -> grads of a and b
//         return std::vector<Tensor>{..., ...};
//       });
//
// The lambda runs under NoGrad, except under create_graph, where grad mode is on
// and every op it calls records (so that its result can be differentiated again):
// write it with differentiable ops, and unpack saved tensors inside it. A
// backward that calls kernels directly keeps that fast path when
// !creating_graph() and composes ops otherwise, or is recorded with
// Backward::once, which makes differentiating its result throw. An op's own
// output is saved with SavedTensor::output(out), never SavedTensor(out).
// It returns one gradient per input (undefined where args.needs(i) is false
// or the input takes none).

#include <functional>
#include <string>
#include <vector>

#include "xgrad/autograd.hpp"

namespace xgrad::autograd::detail {

/// The node whose backward the engine is running on this thread (null outside a
/// backward), which a saved output becomes the grad_fn of under create_graph.
std::shared_ptr<Node> running_node();

/// Sets running_node() for its lifetime (the engine, around each apply).
class RunningNode {
 public:
  explicit RunningNode(std::shared_ptr<Node> node);
  ~RunningNode();
  RunningNode(const RunningNode&) = delete;
  RunningNode& operator=(const RunningNode&) = delete;

 private:
  std::shared_ptr<Node> previous_;
};

/// While alive, no tangents propagate on this thread (the engine, and the jvps).
class ForwardSuspended {
 public:
  ForwardSuspended();
  ~ForwardSuspended();
  ForwardSuspended(const ForwardSuspended&) = delete;
  ForwardSuspended& operator=(const ForwardSuspended&) = delete;
};

/// Whether t carries a tangent that propagates (an active level, not suspended).
bool has_tangent(const Tensor& t);

/// While alive (and grad mode off), notes whether any op on this thread was
/// given a tensor that requires grad: how checkpoint learns, from a forward that
/// records nothing, whether the segment's output would have needed a graph.
class RequiresGradProbe {
 public:
  RequiresGradProbe();
  ~RequiresGradProbe();
  RequiresGradProbe(const RequiresGradProbe&) = delete;
  RequiresGradProbe& operator=(const RequiresGradProbe&) = delete;
  bool seen() const;

 private:
  bool previous_seen_;
  bool previous_probing_;
};

}  // namespace xgrad::autograd::detail

namespace xgrad::detail {

using autograd::SavedTensor;
using autograd::detail::any_requires_grad;

struct BackwardArgs {
  const std::vector<Tensor>& grads;  // one per output, never undefined
  const std::vector<bool>& needs;    // one per input
  const Tensor& grad(std::size_t output = 0) const { return grads.at(output); }
  bool needs_grad(std::size_t input) const { return needs.at(input); }
};

using BackwardFn = std::function<std::vector<Tensor>(const BackwardArgs&)>;

/// Whether the backward being run must itself be recorded (create_graph): a
/// backward lambda runs with grad mode on only then.
inline bool creating_graph() { return is_grad_enabled(); }

/// Whether an op's backward is written with differentiable ops (twice, and so
/// n times, differentiable) or computes its result outside the tape.
enum class Backward { differentiable, once };

/// A node whose backward is a lambda; releasing the graph destroys the lambda
/// and everything it captured.
class LambdaNode final : public autograd::Node {
 public:
  LambdaNode(std::string name, std::vector<bool> needs, BackwardFn fn, Backward kind)
      : name_(std::move(name)), needs_(std::move(needs)), fn_(std::move(fn)), kind_(kind) {}
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  std::string name() const override { return name_; }
  void release_saved() override { fn_ = nullptr; }
  bool once_differentiable() const override { return kind_ == Backward::once; }

 private:
  std::string name_;
  std::vector<bool> needs_;
  BackwardFn fn_;
  Backward kind_;
};

/// Thrown by a node applied after its graph was freed.
[[noreturn]] void throw_freed_graph(const std::string& op);

/// Records a node for a one-output op and returns `output` connected to it.
/// Call only when any_requires_grad(inputs).
Tensor record(std::string name, const std::vector<Tensor>& inputs, Tensor output, BackwardFn fn,
              Backward kind = Backward::differentiable);
/// The same for an op with several outputs.
std::vector<Tensor> record(std::string name, const std::vector<Tensor>& inputs,
                           std::vector<Tensor> outputs, BackwardFn fn, Backward kind = Backward::differentiable);

/// A map linear in its one input, with its adjoint, both computing without
/// recording: the forward of a pooling or an interpolation (given its geometry,
/// or max pooling's indices) and the kernel of its backward. `name` is the node
/// recorded for apply, `adjoint_name` the one for adjoint.
struct LinearPair {
  std::string name, adjoint_name;
  std::function<Tensor(const Tensor&)> apply, adjoint;
};

/// pair->apply(in), or pair->adjoint(in), recorded when `in` requires grad with
/// the other map as its backward: both maps are then differentiable to any
/// order (the second derivative of a linear map in its input is zero; what
/// create_graph needs is the derivative in the gradient flowing through it).
Tensor apply_linear(const std::shared_ptr<const LinearPair>& pair, const Tensor& in, bool adjoint = false);

/// The gradients of composite(inputs) for the output gradient `grad`, by
/// differentiating a recomputation of the op out of differentiable ops: the
/// backward under create_graph of an op whose backward is a fused kernel (batch
/// norm, local response norm). Call it only inside such a backward, with the
/// unpacked saved inputs (connected to the graph there); an input whose `needs`
/// is false, or that the composite does not use, gets an undefined gradient.
std::vector<Tensor> gradients_by_recomputation(const std::function<Tensor(const std::vector<Tensor>&)>& composite,
                                               const std::vector<Tensor>& inputs, const Tensor& grad,
                                               const std::vector<bool>& needs);

}  // namespace xgrad::detail
